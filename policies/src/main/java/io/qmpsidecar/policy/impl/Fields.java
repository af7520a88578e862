package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads typed fields out of a parsed policy map, reporting each mistake at its place. */
final class Fields {

  private final Problems problems;

  Fields(Problems problems) {
    this.problems = problems;
  }

  /** Reports every key of {@code map} that is not in {@code allowed}. */
  void onlyKeys(JsonNode map, Set<String> allowed, String field) {
    for (Iterator<String> names = map.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!allowed.contains(name)) {
        problems.at(join(field, name), "unknown field '" + name + "': expected one of "
            + allowed.stream().sorted().toList());
      }
    }
  }

  /** A required string matching {@code format}; {@code null} after reporting a problem. */
  String string(JsonNode map, String key, String field, Pattern format, String hint) {
    JsonNode value = map.get(key);
    String at = join(field, key);
    if (value == null) {
      problems.at(field, "missing required field '" + key + "'" + (hint == null ? "" : ": " + hint));
      return null;
    }
    if (!value.isTextual() || value.textValue().isEmpty()) {
      problems.at(at, "must be a non-empty string" + (hint == null ? "" : ": " + hint));
      return null;
    }
    if (format != null && !format.matcher(value.textValue()).matches()) {
      problems.at(at, "'" + value.textValue() + "' is not valid: " + hint);
      return null;
    }
    return value.textValue();
  }

  /** An optional string; {@code fallback} when absent. */
  String optionalString(JsonNode map, String key, String field, String fallback) {
    JsonNode value = map.get(key);
    if (value == null) {
      return fallback;
    }
    if (!value.isTextual()) {
      problems.at(join(field, key), "must be a string");
      return fallback;
    }
    return value.textValue();
  }

  /**
   * A required list of patterns (a single string counts as a list of one), each matching
   * {@code format}. Returns an empty list after reporting a problem.
   */
  List<String> patterns(JsonNode map, String key, String field, Pattern format, String hint) {
    JsonNode value = map.get(key);
    String at = join(field, key);
    List<String> out = new ArrayList<>();
    if (value == null) {
      problems.at(field, "missing required field '" + key + "': " + hint);
      return out;
    }
    if (value.isTextual()) {
      value = JsonNodeFactory.instance.arrayNode().add(value);
    }
    if (!value.isArray() || value.isEmpty()) {
      problems.at(at, "must be a non-empty list of patterns: " + hint);
      return out;
    }
    for (int i = 0; i < value.size(); i++) {
      JsonNode element = value.get(i);
      if (!element.isTextual() || !format.matcher(element.textValue()).matches()) {
        problems.at(at + "[" + i + "]", element + " is not a valid pattern: " + hint);
      } else {
        out.add(element.textValue());
      }
    }
    return out;
  }

  static String join(String field, String key) {
    return field.isEmpty() ? key : field + "." + key;
  }
}
