package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.impl.ArgumentSchema.Check;
import io.qmpsidecar.policy.impl.ArgumentSchema.ValueSchema;
import io.qmpsidecar.policy.impl.ArgumentSchema.ValueSchema.Type;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Compiles a rule's {@code arguments} section, a closed schema, and reports every mistake in it.
 * Remembers the fact sets and value sets the schema names.
 */
final class SchemaCompiler {

  private static final Set<String> KEYS = Set.of("type", "equals", "enum", "pattern", "glob",
      "prefix", "min", "max", "max-length", "value-set", "fact", "members", "items", "max-items",
      "required");
  private static final Set<String> STRING_KEYS =
      Set.of("pattern", "glob", "prefix", "max-length", "value-set", "fact");
  private static final int MAX_ITEMS_LIMIT = 4096;

  private final Problems problems;
  private final MatcherCompiler matchers;
  private final Set<String> facts = new TreeSet<>();
  private final Set<String> valueSets = new TreeSet<>();

  SchemaCompiler(Problems problems, MatcherCompiler matchers) {
    this.problems = problems;
    this.matchers = matchers;
  }

  /** Fact set names the compiled schemas refer to. */
  Set<String> facts() {
    return facts;
  }

  /** Value set names the compiled schemas refer to. */
  Set<String> valueSets() {
    return valueSets;
  }

  /** Compiles a map of member name to member schema; {@code null} after reporting a problem. */
  ArgumentSchema object(JsonNode spec, String field) {
    if (!spec.isObject()) {
      problems.at(field, "must be a map of argument name to its schema ({} for no arguments),"
          + " e.g. {id: {type: string, required: true}}");
      return null;
    }
    Map<String, ValueSchema> members = new LinkedHashMap<>();
    Set<String> required = new HashSet<>();
    boolean ok = true;
    for (Iterator<Map.Entry<String, JsonNode>> it = spec.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String name = entry.getKey();
      String at = field + "." + name;
      JsonNode member = entry.getValue();
      if (member.isObject() && member.has("required")) {
        JsonNode flag = member.get("required");
        if (!flag.isBoolean()) {
          problems.at(at + ".required", "must be true or false");
          ok = false;
        } else if (flag.booleanValue()) {
          required.add(name);
        }
      }
      ValueSchema schema = value(member, at);
      if (schema == null) {
        ok = false;
      } else {
        members.put(name, schema);
      }
    }
    return ok ? new ArgumentSchema(members, required) : null;
  }

  private ValueSchema value(JsonNode spec, String field) {
    if (spec.isArray()) {
      List<JsonNode> values = values(spec, field);
      return values == null ? null : new ValueSchema(null, List.of(new ArgumentSchema.OneOf(values)),
          null, null, 0);
    }
    if (spec.isNull()) {
      problems.at(field, "needs a schema: a value, a list of values, or a map such as {type: string}");
      return null;
    }
    if (!spec.isObject()) {
      return new ValueSchema(null, List.of(new ArgumentSchema.OneOf(List.of(spec))), null, null, 0);
    }
    for (Iterator<String> names = spec.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!KEYS.contains(name)) {
        problems.at(field + "." + name, "unknown schema key '" + name + "': use one of "
            + new TreeSet<>(KEYS));
        return null;
      }
    }
    TypeResult typed = type(spec, field);
    if (!typed.ok()) {
      return null;
    }
    Type type = typed.type();
    List<Check> checks = new ArrayList<>();
    boolean ok = true;
    if (spec.has("equals")) {
      checks.add(new ArgumentSchema.OneOf(List.of(spec.get("equals"))));
    }
    if (spec.has("enum")) {
      List<JsonNode> values = values(spec.get("enum"), field + ".enum");
      ok &= values != null;
      if (values != null) {
        checks.add(new ArgumentSchema.OneOf(values));
      }
    }
    for (Check c : checks) {
      for (JsonNode v : ((ArgumentSchema.OneOf) c).values()) {
        if (type != null && !type.accepts(v)) {
          problems.at(field, v + " is not " + type.description + ": a value must have the type"
              + " QEMU expects");
          ok = false;
        }
      }
    }
    ok &= text(spec, field, checks);
    ok &= bounds(spec, field, checks);
    if (spec.has("max-length")) {
      JsonNode n = spec.get("max-length");
      if (!n.isIntegralNumber() || n.longValue() < 1 || n.longValue() > 1_000_000) {
        problems.at(field + ".max-length", "must be a whole number from 1 to 1000000");
        ok = false;
      } else {
        checks.add(new ArgumentSchema.MaxLength(n.intValue()));
      }
    }
    if (spec.has("fact")) {
      String name = matchers.setName(spec.get("fact"), field + ".fact", "a fact set name such as attached");
      ok &= name != null;
      if (name != null) {
        facts.add(name);
        checks.add(new ArgumentSchema.Fact(name));
      }
    }
    if (spec.has("value-set")) {
      String name = matchers.setName(spec.get("value-set"), field + ".value-set",
          "a value set name such as migration.destinations");
      ok &= name != null;
      if (name != null) {
        valueSets.add(name);
        checks.add(new ArgumentSchema.InValueSet(name));
      }
    }
    ArgumentSchema members = null;
    if (type == Type.OBJECT) {
      if (!spec.has("members")) {
        problems.at(field, "an object needs 'members': the closed list of what it may hold");
        return null;
      }
      members = object(spec.get("members"), field + ".members");
      ok &= members != null;
    }
    ValueSchema items = null;
    int maxItems = MAX_ITEMS_LIMIT;
    if (type == Type.LIST) {
      if (!spec.has("items")) {
        problems.at(field, "a list needs 'items': the schema of every element");
        return null;
      }
      items = value(spec.get("items"), field + ".items");
      ok &= items != null;
      if (spec.has("max-items")) {
        JsonNode n = spec.get("max-items");
        if (!n.isIntegralNumber() || n.longValue() < 1 || n.longValue() > MAX_ITEMS_LIMIT) {
          problems.at(field + ".max-items", "must be a whole number from 1 to " + MAX_ITEMS_LIMIT);
          ok = false;
        } else {
          maxItems = n.intValue();
        }
      }
    }
    if (type == null && checks.isEmpty()) {
      problems.at(field, "says nothing about the value: give a type (string, int, number, bool,"
          + " object, list) or the values it may take; a closed schema has no 'anything'");
      return null;
    }
    return ok ? new ValueSchema(type, checks, members, items, maxItems) : null;
  }

  /** The declared or implied type ({@code null}: values only), or not ok after a problem. */
  private record TypeResult(Type type, boolean ok) {}

  private static final Map<String, Type> IMPLIED = Map.of("members", Type.OBJECT, "items",
      Type.LIST, "max-items", Type.LIST, "min", Type.NUMBER, "max", Type.NUMBER);

  private TypeResult type(JsonNode spec, String field) {
    Type implied = null;
    String impliedBy = null;
    for (String key : List.of("members", "items", "max-items", "min", "max")) {
      if (spec.has(key)) {
        if (implied != null && implied != IMPLIED.get(key)) {
          problems.at(field, "'" + key + "' and '" + impliedBy + "' do not apply to the same type");
          return new TypeResult(null, false);
        }
        implied = IMPLIED.get(key);
        impliedBy = key;
      }
    }
    for (String key : STRING_KEYS) {
      if (spec.has(key)) {
        if (implied != null && implied != Type.STRING) {
          problems.at(field, "'" + key + "' applies to strings and '" + impliedBy + "' does not");
          return new TypeResult(null, false);
        }
        implied = Type.STRING;
        impliedBy = key;
      }
    }
    if (!spec.has("type")) {
      return new TypeResult(implied, true);
    }
    JsonNode t = spec.get("type");
    Type declared = null;
    if (t.isTextual()) {
      switch (t.textValue()) {
        case "string":
          declared = Type.STRING;
          break;
        case "int":
          declared = Type.INT;
          break;
        case "number":
          declared = Type.NUMBER;
          break;
        case "bool":
          declared = Type.BOOL;
          break;
        case "object":
          declared = Type.OBJECT;
          break;
        case "list":
          declared = Type.LIST;
          break;
        default:
          break;
      }
    }
    if (declared == null) {
      problems.at(field + ".type", t + " is not a type: use string, int, number, bool, object"
          + " or list");
      return new TypeResult(null, false);
    }
    boolean compatible = implied == null || implied == declared
        || implied == Type.NUMBER && declared == Type.INT;
    if (!compatible) {
      problems.at(field, "'" + impliedBy + "' does not apply to type " + t.textValue());
      return new TypeResult(null, false);
    }
    return new TypeResult(declared, true);
  }

  private List<JsonNode> values(JsonNode list, String field) {
    if (!list.isArray() || list.isEmpty()) {
      problems.at(field, "must be a non-empty list of the values allowed");
      return null;
    }
    List<JsonNode> out = new ArrayList<>();
    list.forEach(out::add);
    return out;
  }

  private boolean text(JsonNode spec, String field, List<Check> checks) {
    boolean ok = true;
    for (String key : List.of("pattern", "glob", "prefix")) {
      if (!spec.has(key)) {
        continue;
      }
      JsonNode arg = spec.get(key);
      if (!arg.isTextual() || arg.textValue().isEmpty()) {
        problems.at(field + "." + key, "must be a non-empty string");
        ok = false;
        continue;
      }
      String p = arg.textValue();
      switch (key) {
        case "glob":
          checks.add(new ArgumentSchema.Text(StringMatcher.glob(p), "match the glob '" + p + "'"));
          break;
        case "prefix":
          checks.add(new ArgumentSchema.Text(new StringMatcher.Prefix(p), "start with '" + p + "'"));
          break;
        default:
          try {
            checks.add(new ArgumentSchema.Text(new StringMatcher.Regex(Pattern.compile(p)),
                "match the regular expression '" + p + "' entirely"));
          } catch (PatternSyntaxException e) {
            problems.at(field + ".pattern", "invalid regular expression: " + e.getDescription()
                + " near index " + e.getIndex());
            ok = false;
          }
      }
    }
    return ok;
  }

  private boolean bounds(JsonNode spec, String field, List<Check> checks) {
    BigDecimal min = null;
    BigDecimal max = null;
    for (String key : List.of("min", "max")) {
      if (!spec.has(key)) {
        continue;
      }
      JsonNode n = spec.get(key);
      if (!n.isNumber()) {
        problems.at(field + "." + key, "must be a number");
        return false;
      }
      if (key.equals("min")) {
        min = n.decimalValue();
      } else {
        max = n.decimalValue();
      }
    }
    if (min != null && max != null && min.compareTo(max) > 0) {
      problems.at(field, "min " + min.toPlainString() + " is greater than max "
          + max.toPlainString() + ": swap them");
      return false;
    }
    if (min != null || max != null) {
      checks.add(new ArgumentSchema.Bounds(min, max));
    }
    return true;
  }
}
