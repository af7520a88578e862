package io.qmpsidecar.qmp.impl.schema;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.SchemaViolation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Walks a value against the introspected QAPI types, collecting violations with field paths. */
public final class SchemaValidator {
  private static final int MAX_DEPTH = 64;
  private final Map<String, JsonNode> entities;
  private final List<SchemaViolation> violations = new ArrayList<>();

  public SchemaValidator(Map<String, JsonNode> entities) {
    this.entities = entities;
  }

  /**
   * @param open true when members the schema does not list are passed through by QEMU (as
   *     {@code device_add} does with device properties): they are not reported as unknown
   */
  public List<SchemaViolation> validateCommand(JsonNode command, JsonNode arguments, boolean open) {
    String argType = command.path("arg-type").asText();
    JsonNode type = entities.get(argType);
    boolean noArgs = type == null || (type.path("members").isEmpty() && !type.has("variants"));
    if (arguments == null || arguments.isNull()) {
      if (!noArgs) {
        checkObject(type, com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(),
            "arguments", 0, open);
      }
      return List.copyOf(violations);
    }
    if (type == null) {
      violations.add(new SchemaViolation("arguments", "has no schema type '" + argType + "'"));
    } else if (open && "object".equals(type.path("meta-type").asText())) {
      checkObject(type, arguments, "arguments", 0, true);
    } else {
      check(type, arguments, "arguments", 0);
    }
    return List.copyOf(violations);
  }

  private void check(JsonNode type, JsonNode value, String path, int depth) {
    if (depth > MAX_DEPTH) {
      violations.add(new SchemaViolation(path, "nested deeper than " + MAX_DEPTH + " levels"));
      return;
    }
    switch (type.path("meta-type").asText()) {
      case "builtin" -> checkBuiltin(type.path("json-type").asText(), value, path);
      case "enum" -> checkEnum(type, value, path);
      case "array" -> checkArray(type, value, path, depth);
      case "object" -> checkObject(type, value, path, depth, false);
      case "alternate" -> checkAlternate(type, value, path, depth);
      default -> violations.add(new SchemaViolation(path, "unexpected schema type " + type));
    }
  }

  private void checkBuiltin(String jsonType, JsonNode value, String path) {
    boolean ok = switch (jsonType) {
      case "string" -> value.isTextual();
      case "int" -> value.isIntegralNumber();
      case "number" -> value.isNumber();
      case "boolean" -> value.isBoolean();
      case "null" -> value.isNull();
      case "object" -> value.isObject();
      case "array" -> value.isArray();
      default -> true;
    };
    if (!ok) {
      violations.add(new SchemaViolation(path, "expected " + jsonType + ", got " + describe(value)));
    }
  }

  private void checkEnum(JsonNode type, JsonNode value, String path) {
    if (!value.isTextual()) {
      violations.add(new SchemaViolation(path, "expected one of " + enumValues(type) + ", got " + describe(value)));
    } else if (!enumValues(type).contains(value.asText())) {
      violations.add(new SchemaViolation(path, "'" + value.asText() + "' is not one of " + enumValues(type)));
    }
  }

  private static List<String> enumValues(JsonNode type) {
    List<String> values = new ArrayList<>();
    type.path("values").forEach(v -> values.add(v.asText()));
    if (values.isEmpty()) {
      type.path("members").forEach(m -> values.add(m.path("name").asText()));
    }
    return values;
  }

  private void checkArray(JsonNode type, JsonNode value, String path, int depth) {
    if (!value.isArray()) {
      violations.add(new SchemaViolation(path, "expected array, got " + describe(value)));
      return;
    }
    JsonNode element = entities.get(type.path("element-type").asText());
    for (int i = 0; i < value.size() && element != null; i++) {
      check(element, value.get(i), path + "[" + i + "]", depth + 1);
    }
  }

  private void checkObject(JsonNode type, JsonNode value, String path, int depth, boolean open) {
    if (!value.isObject()) {
      violations.add(new SchemaViolation(path, "expected object, got " + describe(value)));
      return;
    }
    Set<String> known = new HashSet<>();
    checkMembers(type, value, path, depth, known);
    JsonNode variant = variantType(type, value);
    if (variant != null) {
      checkMembers(variant, value, path, depth, known);
    }
    for (Iterator<String> it = value.fieldNames(); it.hasNext() && !open; ) {
      String field = it.next();
      if (!known.contains(field)) {
        violations.add(new SchemaViolation(path + "." + field, "unknown argument; QEMU accepts "
            + (known.isEmpty() ? "none here" : new java.util.TreeSet<>(known))));
      }
    }
  }

  private void checkMembers(JsonNode type, JsonNode value, String path, int depth, Set<String> known) {
    for (JsonNode member : type.path("members")) {
      String name = member.path("name").asText();
      known.add(name);
      JsonNode v = value.get(name);
      if (v == null) {
        if (!member.has("default")) {
          violations.add(new SchemaViolation(path + "." + name, "missing required argument"));
        }
        continue;
      }
      JsonNode memberType = entities.get(member.path("type").asText());
      if (memberType != null) {
        check(memberType, v, path + "." + name, depth + 1);
      }
    }
  }

  private JsonNode variantType(JsonNode type, JsonNode value) {
    String tag = type.path("tag").asText(null);
    if (tag == null || !value.path(tag).isTextual()) {
      return null;
    }
    for (JsonNode variant : type.path("variants")) {
      if (variant.path("case").asText().equals(value.get(tag).asText())) {
        return entities.get(variant.path("type").asText());
      }
    }
    return null;
  }

  private void checkAlternate(JsonNode type, JsonNode value, String path, int depth) {
    for (JsonNode member : type.path("members")) {
      JsonNode candidate = entities.get(member.path("type").asText());
      if (candidate == null) {
        continue;
      }
      SchemaValidator trial = new SchemaValidator(entities);
      trial.check(candidate, value, path, depth + 1);
      if (trial.violations.isEmpty()) {
        return;
      }
    }
    violations.add(new SchemaViolation(path, "matches none of the alternatives, got " + describe(value)));
  }

  private static String describe(JsonNode value) {
    String kind = value.isTextual() ? "string" : value.isBoolean() ? "boolean"
        : value.isIntegralNumber() ? "int" : value.isNumber() ? "number" : value.isNull() ? "null"
        : value.isArray() ? "array" : "object";
    String text = value.toString();
    return kind + " " + (text.length() > 40 ? text.substring(0, 40) + "…" : text);
  }
}
