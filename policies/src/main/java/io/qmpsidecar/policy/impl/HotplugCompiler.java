package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/** Compiles and validates a rule's {@code hotplug} section. */
final class HotplugCompiler {

  private static final Pattern BDF =
      Pattern.compile("(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  private static final Pattern VENDOR_DEVICE = Pattern.compile("(?:0x)?[0-9a-f]{4}:(?:0x)?[0-9a-f]{4}");
  private static final Pattern DRIVER = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9*?][A-Za-z0-9._:*?-]{0,127}");
  private static final Set<String> KEYS =
      Set.of(
          "allowed-pfs",
          "vendor-devices",
          "bdf-patterns",
          "mdev-types",
          "mdev-parents",
          "host-drivers",
          "root-ports",
          "id-prefix",
          "max-functions",
          "require-isolated-group");

  private final Problems problems;
  private final MatcherCompiler matchers;
  private final Set<String> valueSets;

  HotplugCompiler(Problems problems, MatcherCompiler matchers, Set<String> valueSets) {
    this.problems = problems;
    this.matchers = matchers;
    this.valueSets = valueSets;
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
            + new TreeSet<>(KEYS));
      }
    }
    Items pfs = items(spec, "allowed-pfs", field, BDF, "a PCI address like 0000:03:00.0",
        HotplugConstraint::canonicalBdf);
    Items ids = items(spec, "vendor-devices", field, VENDOR_DEVICE, "vendor:device like 15b3:101e",
        HotplugConstraint::canonicalVendorDevice);
    Items globs = items(spec, "bdf-patterns", field, NAME, "a PCI address glob like 0000:03:*",
        v -> v.toLowerCase(Locale.ROOT));
    Items mdevTypes = items(spec, "mdev-types", field, NAME, "an mdev type like mtty-2",
        UnaryOperator.identity());
    Items mdevParents = items(spec, "mdev-parents", field, NAME,
        "a parent device or glob like mtty or 0000:65:00.0", v -> v.toLowerCase(Locale.ROOT));
    Items drivers = items(spec, "host-drivers", field, DRIVER, "a driver name like vfio-pci",
        UnaryOperator.identity());
    if (!spec.has("host-drivers")) {
      drivers = new Items(Set.of("vfio-pci"), List.of(), UnaryOperator.identity());
    }
    Items ports = items(spec, "root-ports", field, NAME, "a root port id like dpu-rp0",
        UnaryOperator.identity());
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
    return new HotplugConstraint(pfs, ids, globs, mdevTypes, mdevParents, drivers, ports,
        idPrefix, max, isolated);
  }

  /**
   * A list of literal values (each in {@code format}) and {@code {value-set: NAME}} entries.
   * Absent: {@link Items#none()}.
   */
  private Items items(JsonNode spec, String key, String field, Pattern format, String formatName,
      UnaryOperator<String> canonical) {
    JsonNode list = spec.get(key);
    if (list == null) {
      return Items.none();
    }
    String at = field + "." + key;
    if (!list.isArray() || list.isEmpty()) {
      problems.at(at, "must be a non-empty list (leave the key out to not constrain it)");
      return Items.none();
    }
    Set<String> literals = new LinkedHashSet<>();
    List<String> sets = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode element = list.get(i);
      String where = at + "[" + i + "]";
      if (element.isObject() && element.size() == 1 && element.has("value-set")) {
        String name = matchers.setName(element.get("value-set"), where + ".value-set",
            "a value set name such as hotplug.allowedPfs");
        if (name != null) {
          sets.add(name);
          valueSets.add(name);
        }
        continue;
      }
      String raw = element.isTextual() ? element.textValue() : null;
      String value = raw == null ? null : key.equals("root-ports") || key.equals("mdev-types") ? raw
          : raw.toLowerCase(Locale.ROOT);
      if (value == null || value.isEmpty()) {
        problems.at(where, "must be a non-empty string or {value-set: NAME}");
      } else if (!format.matcher(value).matches()) {
        problems.at(where, "'" + raw + "' is not " + formatName);
      } else {
        literals.add(canonical.apply(value));
      }
    }
    return new Items(Set.copyOf(literals), List.copyOf(sets), canonical);
  }
}
