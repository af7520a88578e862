package io.qmpsidecar.packaging;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A systemd unit file read as systemd reads it: sections of {@code Key=value} lines, comments
 * and blank lines skipped, a line ending in a backslash continued on the next, a key that
 * repeats keeping every value in order.
 */
record UnitFile(Map<String, Map<String, List<String>>> sections) {

  static UnitFile read(Path file) throws IOException {
    Map<String, Map<String, List<String>>> sections = new LinkedHashMap<>();
    Map<String, List<String>> section = null;
    StringBuilder pending = new StringBuilder();
    for (String raw : Files.readAllLines(file)) {
      String line = raw.strip();
      if (pending.length() == 0 && (line.isEmpty() || line.startsWith("#") || line.startsWith(";"))) {
        continue;
      }
      if (line.endsWith("\\")) {
        pending.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      pending.append(line);
      String full = pending.toString().strip();
      pending.setLength(0);
      if (full.startsWith("[") && full.endsWith("]")) {
        section = sections.computeIfAbsent(full.substring(1, full.length() - 1), k -> new LinkedHashMap<>());
      } else if (section != null && full.contains("=")) {
        int eq = full.indexOf('=');
        section.computeIfAbsent(full.substring(0, eq).strip(), k -> new ArrayList<>()).add(full.substring(eq + 1).strip());
      } else {
        throw new IOException(file + ": not a section header or Key=value line: " + full);
      }
    }
    return new UnitFile(sections);
  }

  /** Every value of {@code key} in {@code section}, in order; empty when it is not set. */
  List<String> all(String section, String key) {
    return sections.getOrDefault(section, Map.of()).getOrDefault(key, List.of());
  }

  /** The value that applies: the last one, as systemd takes it for single-valued keys. */
  String value(String section, String key) {
    List<String> values = all(section, key);
    if (values.isEmpty()) {
      throw new IllegalArgumentException("[" + section + "] has no " + key + "=");
    }
    return values.get(values.size() - 1);
  }

  /** A unit's command line with its instance name put in for {@code %i} (and {@code %%}). */
  static List<String> command(String line, String instance) {
    List<String> words = new ArrayList<>();
    for (String word : line.strip().split("\\s+")) {
      words.add(word.replace("%i", instance).replace("%%", "%"));
    }
    return words;
  }
}
