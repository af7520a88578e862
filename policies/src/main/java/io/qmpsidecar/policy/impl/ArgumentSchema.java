package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A closed object schema, compiled from a rule's {@code arguments} section (or a nested
 * {@code members}): the only members the object may have, the schema of each, and which must be
 * there. Member names are exact, as QEMU reads them: a key in another case or with {@code _} for
 * {@code -} is a member the schema does not list.
 */
final class ArgumentSchema {

  private final Map<String, ValueSchema> members;
  private final Set<String> required;

  ArgumentSchema(Map<String, ValueSchema> members, Set<String> required) {
    this.members = Map.copyOf(members);
    this.required = Set.copyOf(required);
  }

  Set<String> names() {
    return members.keySet();
  }

  ValueSchema member(String name) {
    return members.get(name);
  }

  /** Returns {@code null} when {@code value} fits, else why not (naming the path). */
  String violation(JsonNode value, EvalContext context, String path) {
    if (!value.isObject()) {
      return path + " must be an object, got " + describe(value);
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      ValueSchema schema = members.get(field.getKey());
      if (schema == null) {
        return path + "." + field.getKey() + " is not allowed"
            + (members.isEmpty() ? " (no member is)" : " (only " + sorted(members.keySet()) + ")");
      }
      String why = schema.violation(field.getValue(), context, path + "." + field.getKey());
      if (why != null) {
        return why;
      }
    }
    for (String name : required) {
      if (!value.has(name)) {
        return path + "." + name + " is required";
      }
    }
    return null;
  }

  static List<String> sorted(Set<String> names) {
    return names.stream().sorted().toList();
  }

  static String describe(JsonNode value) {
    String kind = value.isTextual() ? "a string" : value.isIntegralNumber() ? "an integer"
        : value.isNumber() ? "a number" : value.isBoolean() ? "a boolean"
        : value.isObject() ? "an object" : value.isArray() ? "a list" : "null";
    String text = value.toString();
    return value.isContainerNode() || text.length() > 80 ? kind : kind + " " + text;
  }

  /** The schema of one value: a type and the checks every value must pass. */
  static final class ValueSchema {

    /** The JSON types QEMU's QAPI visitors distinguish. */
    enum Type {
      STRING("a string"), INT("an integer"), NUMBER("a number"), BOOL("a boolean"),
      OBJECT("an object"), LIST("a list");

      final String description;

      Type(String description) {
        this.description = description;
      }

      boolean accepts(JsonNode value) {
        switch (this) {
          case STRING:
            return value.isTextual();
          case INT:
            return value.isIntegralNumber();
          case NUMBER:
            return value.isNumber();
          case BOOL:
            return value.isBoolean();
          case OBJECT:
            return value.isObject();
          default:
            return value.isArray();
        }
      }
    }

    private final Type type;
    private final List<Check> checks;
    private final ArgumentSchema members;
    private final ValueSchema items;
    private final int maxItems;

    ValueSchema(Type type, List<Check> checks, ArgumentSchema members, ValueSchema items, int maxItems) {
      this.type = type;
      this.checks = List.copyOf(checks);
      this.members = members;
      this.items = items;
      this.maxItems = maxItems;
    }

    String violation(JsonNode value, EvalContext context, String path) {
      if (type != null && !type.accepts(value)) {
        return path + " must be " + type.description + ", got " + describe(value);
      }
      for (Check check : checks) {
        String why = check.violation(value, context);
        if (why != null) {
          return path + " " + why;
        }
      }
      if (members != null) {
        return members.violation(value, context, path);
      }
      if (items != null) {
        if (value.size() > maxItems) {
          return path + " has " + value.size() + " elements, at most " + maxItems + " are allowed";
        }
        for (int i = 0; i < value.size(); i++) {
          String why = items.violation(value.get(i), context, path + "[" + i + "]");
          if (why != null) {
            return why;
          }
        }
      }
      return null;
    }
  }

  /** One constraint on a value; {@code null} when it holds, else the predicate that failed. */
  interface Check {
    String violation(JsonNode value, EvalContext context);
  }

  /** Strict JSON equality: {@code 1} is neither {@code "1"} nor {@code 1.0}, as for QEMU. */
  record OneOf(List<JsonNode> values) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      for (JsonNode v : values) {
        if (same(v, value)) {
          return null;
        }
      }
      return values.size() == 1 ? "must be " + values.get(0) + ", got " + describe(value)
          : "must be one of " + values + ", got " + describe(value);
    }
  }

  /** A string test: a glob, a regular expression matching entirely, or a prefix. */
  record Text(StringMatcher matcher, String description) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      return value.isTextual() && matcher.matches(value.textValue()) ? null
          : "must " + description + ", got " + describe(value);
    }
  }

  /** Inclusive numeric bounds; either may be null. */
  record Bounds(BigDecimal min, BigDecimal max) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      BigDecimal v = value.decimalValue();
      if (min != null && v.compareTo(min) < 0 || max != null && v.compareTo(max) > 0) {
        return "must be within [" + (min == null ? "" : min.toPlainString()) + ", "
            + (max == null ? "" : max.toPlainString()) + "], got " + value;
      }
      return null;
    }
  }

  /** A string of at most {@code max} characters (code points: an emoji is one, as for a glob's {@code ?}). */
  record MaxLength(int max) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      String text = value.textValue();
      int length = text.codePointCount(0, text.length());
      return length <= max ? null : "must have at most " + max + " characters, got " + length;
    }
  }

  /** A string in the request's fact set {@code name}. */
  record Fact(String name) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      return context.fact(name).contains(value.textValue()) ? null
          : "must be in the fact set '" + name + "' the sidecar resolved ("
              + context.fact(name).size() + " entries), got " + describe(value);
    }
  }

  /** A string in the configuration's value set {@code name}. */
  record InValueSet(String name) implements Check {
    @Override
    public String violation(JsonNode value, EvalContext context) {
      Set<String> set = context.valueSet(name);
      return set.contains(value.textValue()) ? null
          : "must be in the configured value set '" + name + "' ("
              + (set.isEmpty() ? "empty: configure it" : set.size() + " entries") + "), got "
              + describe(value);
    }
  }

  static boolean same(JsonNode expected, JsonNode value) {
    if (expected.isNumber() && value.isNumber()) {
      if (expected.isIntegralNumber() != value.isIntegralNumber()) {
        return false;
      }
      return expected.decimalValue().compareTo(value.decimalValue()) == 0;
    }
    return expected.equals(value);
  }
}
