package io.qmpsidecar.packaging;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The console examples of one section of a document: {@code $ COMMAND}, the lines it prints,
 * {@code [exit N]}, in ```console blocks. An expected line {@code ...} matches any lines, and
 * {@code ...} inside a line any text; runs of spaces compare as one (docs/cli.md's convention).
 */
final class DocExamples {
  private DocExamples() {}

  record Example(String command, List<String> expected, int exit) {
    /** Whether {@code actual} is what the document shows. */
    boolean matches(List<String> actual) {
      return DocExamples.matches(expected, actual, 0, 0);
    }
  }

  /** The examples from the heading {@code section} to the next heading of its level. */
  static List<Example> of(Path doc, String section) throws IOException {
    List<String> lines = Files.readAllLines(doc);
    int start = lines.indexOf(section);
    if (start < 0) {
      throw new IllegalStateException(doc + " has no heading '" + section + "'");
    }
    String level = section.substring(0, section.indexOf(' ') + 1);
    List<Example> examples = new ArrayList<>();
    boolean inConsole = false;
    String command = null;
    List<String> expected = new ArrayList<>();
    for (String line : lines.subList(start + 1, lines.size())) {
      if (!inConsole && line.startsWith(level)) {
        break;
      } else if (line.equals("```console")) {
        inConsole = true;
      } else if (inConsole && line.equals("```")) {
        if (command != null) {
          throw new IllegalStateException(doc + ": '" + command + "' has no [exit N] before its block ends");
        }
        inConsole = false;
      } else if (inConsole && line.startsWith("$ ")) {
        command = line.substring(2);
        expected = new ArrayList<>();
      } else if (inConsole && line.startsWith("[exit ")) {
        examples.add(new Example(command, List.copyOf(expected), Integer.parseInt(line.substring(6, line.length() - 1))));
        command = null;
      } else if (inConsole) {
        expected.add(line);
      }
    }
    return examples;
  }

  private static boolean matches(List<String> expected, List<String> actual, int e, int a) {
    if (e == expected.size()) {
      return a == actual.size();
    }
    if (expected.get(e).equals("...")) {
      for (int skip = a; skip <= actual.size(); skip++) {
        if (matches(expected, actual, e + 1, skip)) {
          return true;
        }
      }
      return false;
    }
    return a < actual.size() && line(expected.get(e)).matcher(actual.get(a).strip().replaceAll(" +", " ")).matches()
        && matches(expected, actual, e + 1, a + 1);
  }

  private static Pattern line(String expected) {
    String[] parts = expected.strip().replaceAll(" +", " ").split(Pattern.quote("..."), -1);
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      regex.append(i == 0 ? "" : ".*").append(Pattern.quote(parts[i]));
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }
}
