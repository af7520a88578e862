package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** Compiles and validates a rule's {@code hotplug} section. */
final class HotplugCompiler {

  private static final Pattern BDF =
      Pattern.compile("(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  private static final Pattern VENDOR_DEVICE = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{4}");
  private static final Set<String> KEYS =
      Set.of(
          "allowed-pfs",
          "vendor-devices",
          "bdf-patterns",
          "root-ports",
          "id-prefix",
          "max-functions",
          "require-isolated-group");

  private final Problems problems;

  HotplugCompiler(Problems problems) {
    this.problems = problems;
  }

  HotplugConstraint compile(JsonNode spec, String field) {
    if (!spec.isObject()) {
      problems.at(field, "must be a map of constraints such as allowed-pfs, id-prefix");
      return null;
    }
    for (Iterator<String> names = spec.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!KEYS.contains(name)) {
        problems.at(field + "." + name, "unknown hotplug constraint '" + name + "': use one of "
            + KEYS.stream().sorted().toList());
      }
    }
    Set<String> pfs = strings(spec, "allowed-pfs", field, BDF, "a PCI address like 0000:03:00.0");
    Set<String> ids = strings(spec, "vendor-devices", field, VENDOR_DEVICE, "vendor:device like 15b3:101e");
    Set<String> globs = strings(spec, "bdf-patterns", field, null, null);
    Set<String> ports = strings(spec, "root-ports", field, null, null);
    List<StringMatcher> bdfPatterns = new ArrayList<>();
    globs.forEach(g -> bdfPatterns.add(StringMatcher.glob(g)));
    Set<String> canonicalPfs = new HashSet<>();
    pfs.forEach(pf -> canonicalPfs.add(HotplugConstraint.canonicalBdf(pf)));
    String idPrefix = null;
    JsonNode prefix = spec.get("id-prefix");
    if (prefix != null) {
      if (prefix.isTextual() && !prefix.textValue().isEmpty()) {
        idPrefix = prefix.textValue();
      } else {
        problems.at(field + ".id-prefix", "must be a non-empty string such as 'dpu-'");
      }
    }
    int max = 0;
    JsonNode maxNode = spec.get("max-functions");
    if (maxNode != null) {
      if (maxNode.isIntegralNumber() && maxNode.longValue() >= 1 && maxNode.longValue() <= 4096) {
        max = maxNode.intValue();
      } else {
        problems.at(field + ".max-functions", "must be a whole number from 1 to 4096");
      }
    }
    boolean isolated = true;
    JsonNode isolatedNode = spec.get("require-isolated-group");
    if (isolatedNode != null) {
      if (isolatedNode.isBoolean()) {
        isolated = isolatedNode.booleanValue();
      } else {
        problems.at(field + ".require-isolated-group", "must be true or false");
      }
    }
    return new HotplugConstraint(
        Set.copyOf(canonicalPfs), Set.copyOf(ids), List.copyOf(bdfPatterns), Set.copyOf(ports),
        idPrefix, max, isolated);
  }

  private Set<String> strings(
      JsonNode spec, String key, String field, Pattern format, String formatName) {
    Set<String> values = new HashSet<>();
    JsonNode list = spec.get(key);
    if (list == null) {
      return values;
    }
    String at = field + "." + key;
    if (!list.isArray() || list.isEmpty()) {
      problems.at(at, "must be a non-empty list (leave the key out to not constrain it)");
      return values;
    }
    for (int i = 0; i < list.size(); i++) {
      JsonNode element = list.get(i);
      String value = element.isTextual() ? element.textValue().toLowerCase(Locale.ROOT) : null;
      if (value == null || value.isEmpty()) {
        problems.at(at + "[" + i + "]", "must be a non-empty string");
      } else if (format != null && !format.matcher(value).matches()) {
        problems.at(at + "[" + i + "]", "'" + element.textValue() + "' is not " + formatName);
      } else {
        values.add(key.equals("root-ports") ? element.textValue() : value);
      }
    }
    return values;
  }
}
