package io.qmpsidecar.resilience;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The suite's figures: every test of this module appends rows to one TSV file (system property
 * {@code resilience.figures}, set by the module's pom), and {@code resilience/run} prints them as
 * a table. Every number in a row is counted by the test that writes it.
 */
public final class Figures {

  /** The sections of the table, in the order the runner prints them. */
  public enum Section { FAULT, FUZZ, BAD_INPUT, BYPASS, SECURITY }

  /**
   * One row. {@code attempts} is what was injected or tried; {@code passed} how many of them the
   * system survived (faults), handled without a crash (fuzz, bad input) or denied (bypass);
   * {@code hung} the callers whose wait did not end within its bound; {@code lost} and
   * {@code duplicated} the DPU notifications or records lost or seen twice.
   */
  public record Row(Section section, String name, long attempts, long passed, long hung, long lost,
      long duplicated) {

    String tsv() {
      return String.join("\t", section.name(), name.replace('\t', ' '), Long.toString(attempts),
          Long.toString(passed), Long.toString(hung), Long.toString(lost), Long.toString(duplicated)) + "\n";
    }
  }

  private Figures() {}

  /** Appends a row; one write per row, so rows of concurrent test JVMs do not interleave. */
  public static synchronized void record(Row row) {
    Path file = Path.of(System.getProperty("resilience.figures", "target/resilience-figures.tsv"));
    try {
      Path parent = file.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      Files.write(file, row.tsv().getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE,
          StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append the figures row to " + file
          + ": check that the directory is writable (set -Dresilience.figures=FILE to move it)", e);
    }
  }

  /** A row of a check where every attempt had to pass: nothing hung, lost or duplicated. */
  public static void record(Section section, String name, long attempts, long passed) {
    record(new Row(section, name, attempts, passed, 0, 0, 0));
  }
}
