package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.migration.RunStates;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Follows a migration by polling its status: on a terminal a progress bar redrawn in place,
 * otherwise one plain line per change (state, phase or percentage), until the run ends.
 */
final class MigrateProgress {
  /** Time between two status reads. */
  static final Duration POLL = Duration.ofMillis(250);
  private static final int BAR_WIDTH = 30;

  private final PrintWriter out;
  private final boolean bar;
  private String last = "";

  /** @param bar redraw a bar in place (a terminal) instead of printing plain lines */
  MigrateProgress(PrintWriter out, boolean bar) {
    this.out = out;
    this.bar = bar;
  }

  /**
   * Polls until the run reaches a final state ({@link RunStates#ENDED}) or {@code maxTime}
   * passes.
   *
   * @param read reads the run's status: from the sidecar's API, or from QEMU with --qmp
   * @return the last status read, or null when {@code maxTime} passed first
   * @throws SidecarException when a status read fails
   */
  JsonNode follow(Supplier<JsonNode> read, Duration maxTime) {
    long deadline = System.nanoTime() + maxTime.toNanos();
    while (true) {
      JsonNode run = read.get();
      show(run);
      if (RunStates.ENDED.contains(run.path("state").asText())) {
        finish();
        return run;
      }
      if (System.nanoTime() + POLL.toNanos() > deadline) {
        finish();
        return null;
      }
      try {
        Thread.sleep(POLL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw ApiClient.failure(Kind.UNAVAILABLE, "interrupted while following the migration");
      }
    }
  }

  /** Shows one status: a redrawn bar, or a plain line when it differs from the last one. */
  void show(JsonNode run) {
    String line = line(run);
    if (line.equals(last)) {
      return;
    }
    last = line;
    if (bar) {
      out.print("\r" + bar(run) + " " + line + "\u001b[K");
    } else {
      out.println(line);
    }
    out.flush();
  }

  private void finish() {
    if (bar && !last.isEmpty()) {
      out.println();
      out.flush();
    }
  }

  /** {@code STATE phase N% of TOTAL (SENT sent)}, the percentage and figures only once QEMU reported them. */
  static String line(JsonNode run) {
    JsonNode source = run.path("source");
    JsonNode p = source.path("progress");
    StringBuilder line = new StringBuilder(run.path("state").asText());
    String phase = source.path("phase").asText("");
    if (!phase.isEmpty() && !phase.equals("NONE")) {
      line.append(' ').append(phase.toLowerCase(Locale.ROOT));
    }
    int percent = percent(run);
    if (percent >= 0) {
      line.append(' ').append(percent).append("% of ").append(bytes(p.path("totalBytes").asLong()))
          .append(" (").append(bytes(p.path("transferredBytes").asLong())).append(" sent)");
    }
    return line.toString();
  }

  /** {@code [#####.....]} for the RAM sent so far; full once the run completed. */
  static String bar(JsonNode run) {
    int percent = run.path("state").asText().equals("COMPLETED") ? 100 : Math.max(0, percent(run));
    int filled = percent * BAR_WIDTH / 100;
    return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "]";
  }

  private static int percent(JsonNode run) {
    JsonNode p = run.path("source").path("progress");
    long total = p.path("totalBytes").asLong(-1);
    long remaining = p.path("remainingBytes").asLong(-1);
    if (total <= 0 || remaining < 0) {
      return -1;
    }
    return (int) Math.min(100, Math.max(0, (total - remaining) * 100 / total));
  }

  /** Bytes in binary units with one decimal ({@code 1.5 MiB}); {@code -} when unknown. */
  static String bytes(long n) {
    if (n < 0) {
      return "-";
    }
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n / 1024.0;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
