package io.qmpsidecar.resilience.surface;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The reviewed classification of QEMU's surface, policies/classification/qemu-surface.txt: one
 * line per command, device type and attachable property, saying which caller classes each shipped
 * preset lets use it (see the file's header).
 */
public record SurfaceClassification(Map<String, Line> lines) {

  /** The caller classes, in column order. */
  public static final List<String> CLASSES = List.of("api", "proxy", "rule", "dpu");

  /** The file, relative to the repository root. */
  public static final String FILE = "policies/classification/qemu-surface.txt";

  private static final Pattern SINCE = Pattern.compile("\\[since (\\d+)\\.(\\d+)\\].*");

  /**
   * One line.
   *
   * @param kind command, device or property
   * @param name the command or device name, or {@code device.property}
   * @param byPreset for each preset the caller classes it allows ({@code property}: {@code attach}
   *     or nothing)
   * @param why the reason, as reviewed
   */
  public record Line(String kind, String name, Map<String, Set<String>> byPreset, String why) {

    /** The QEMU version ({@code major * 100 + minor}) a property first appears in, or 0. */
    public int since() {
      Matcher m = SINCE.matcher(why);
      return m.matches() ? Integer.parseInt(m.group(1)) * 100 + Integer.parseInt(m.group(2)) : 0;
    }
  }

  /** Reads the file; every malformed line is an error naming its number. */
  public static SurfaceClassification read(Path file, List<String> presets) throws IOException {
    Map<String, Line> lines = new LinkedHashMap<>();
    List<String> text = Files.readAllLines(file);
    for (int i = 0; i < text.size(); i++) {
      String raw = text.get(i).strip();
      if (raw.isEmpty() || raw.startsWith("#")) {
        continue;
      }
      String[] cols = raw.split("\\s+", 3 + presets.size());
      if (cols.length < 3 + presets.size() || !Set.of("command", "device", "property").contains(cols[0])) {
        throw new IllegalStateException(file + ":" + (i + 1) + ": expected 'kind name "
            + String.join(" ", presets) + " why', got: " + raw);
      }
      Map<String, Set<String>> byPreset = new LinkedHashMap<>();
      for (int p = 0; p < presets.size(); p++) {
        byPreset.put(presets.get(p), classes(cols[2 + p], cols[0], file, i + 1));
      }
      String key = cols[0] + " " + cols[1];
      if (lines.put(key, new Line(cols[0], cols[1], byPreset, cols[2 + presets.size()])) != null) {
        throw new IllegalStateException(file + ":" + (i + 1) + ": " + key + " is listed twice");
      }
    }
    return new SurfaceClassification(lines);
  }

  public Line get(String kind, String name) {
    return lines.get(kind + " " + name);
  }

  private static Set<String> classes(String column, String kind, Path file, int line) {
    Set<String> out = new TreeSet<>();
    if (column.equals("-")) {
      return out;
    }
    if (kind.equals("property")) {
      if (!column.equals("attach")) {
        throw new IllegalStateException(file + ":" + line + ": a property column is 'attach' or '-'");
      }
      out.add("attach");
      return out;
    }
    for (String c : column.split(",")) {
      switch (c) {
        case "all" -> out.addAll(CLASSES);
        case "local" -> out.addAll(List.of("api", "proxy", "rule"));
        default -> {
          if (!CLASSES.contains(c)) {
            throw new IllegalStateException(file + ":" + line + ": unknown caller class '" + c
                + "': use api, proxy, rule, dpu, all, local or -");
          }
          out.add(c);
        }
      }
    }
    return out;
  }
}
