package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Compiles {@code when} sections (paths and matchers) and reports every mistake in them. */
final class MatcherCompiler {

  private static final Set<String> OPERATORS =
      Set.of(
          "equals", "in", "glob", "regex", "prefix", "range", "present", "not", "any-key",
          "only-keys", "fact", "value-set");
  private static final String OPERATOR_LIST =
      "equals, in, glob, regex, prefix, range, present, not, any-key, only-keys, fact, value-set";

  private final Problems problems;

  MatcherCompiler(Problems problems) {
    this.problems = problems;
  }

  /**
   * Compiles a {@code when} object whose paths start with {@code root} ({@code arguments} for
   * rules, {@code data} for automation). Returns an empty list for a missing section.
   */
  List<Condition> conditions(JsonNode when, String field, String root) {
    List<Condition> conditions = new ArrayList<>();
    if (when == null) {
      return conditions;
    }
    if (!when.isObject()) {
      problems.at(field, "must be a map of path to matcher, e.g. '" + root + ".driver: vfio-pci'");
      return conditions;
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = when.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String path = entry.getKey();
      String pathField = field + "." + path;
      String[] segments = segments(path, root, pathField);
      JsonNode spec = entry.getValue();
      if (spec.isObject() && spec.size() == 1 && spec.has("present")) {
        JsonNode present = spec.get("present");
        if (!present.isBoolean()) {
          problems.at(pathField + ".present", "must be true or false");
        } else if (segments != null) {
          conditions.add(
              new Condition(path, segments, new ValueMatcher.Always(), !present.booleanValue()));
        }
        continue;
      }
      ValueMatcher matcher = matcher(spec, pathField);
      if (segments != null && matcher != null) {
        conditions.add(new Condition(path, segments, matcher, false));
      }
    }
    return conditions;
  }

  private String[] segments(String path, String root, String field) {
    String[] parts = path.split("\\.", -1);
    if (!parts[0].equals(root)) {
      problems.at(field, "path must start with '" + root + "', e.g. '" + root + ".driver'");
      return null;
    }
    for (String part : parts) {
      if (part.isEmpty()) {
        problems.at(field, "path has an empty segment: write segments separated by single dots");
        return null;
      }
    }
    String[] below = new String[parts.length - 1];
    System.arraycopy(parts, 1, below, 0, below.length);
    return below;
  }

  /** Compiles one matcher, or returns {@code null} after recording why it is invalid. */
  ValueMatcher matcher(JsonNode spec, String field) {
    if (spec.isArray()) {
      return in(spec, field);
    }
    if (!spec.isObject()) {
      return new ValueMatcher.Equals(spec);
    }
    boolean ignoreCase = false;
    if (spec.has("ignore-case")) {
      JsonNode flag = spec.get("ignore-case");
      if (!flag.isBoolean()) {
        problems.at(field + ".ignore-case", "must be true or false");
        return null;
      }
      ignoreCase = flag.booleanValue();
    }
    List<String> operators = new ArrayList<>();
    for (Iterator<String> names = spec.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (OPERATORS.contains(name)) {
        operators.add(name);
      } else if (!name.equals("ignore-case")) {
        problems.at(field + "." + name, "unknown matcher '" + name + "': use one of " + OPERATOR_LIST);
        return null;
      }
    }
    if (operators.size() != 1) {
      problems.at(field, "a matcher needs exactly one of " + OPERATOR_LIST + ", found " + operators);
      return null;
    }
    String op = operators.get(0);
    JsonNode arg = spec.get(op);
    String at = field + "." + op;
    if (ignoreCase && !Set.of("glob", "regex", "prefix").contains(op)) {
      problems.at(field + ".ignore-case", "only applies to glob, regex and prefix");
      return null;
    }
    switch (op) {
      case "equals":
        return new ValueMatcher.Equals(arg);
      case "in":
        return in(arg, at);
      case "glob":
      case "prefix":
      case "regex":
        return text(op, arg, at, ignoreCase);
      case "range":
        return range(arg, at);
      case "present":
        problems.at(at, "'present' stands alone in a condition; inside 'not' write present: false");
        return null;
      case "not":
        ValueMatcher inner = matcher(arg, at);
        return inner == null ? null : new ValueMatcher.Not(inner);
      case "fact":
        String fact = setName(arg, at, "a fact set name such as attached");
        return fact == null ? null : new ValueMatcher.Fact(fact);
      case "value-set":
        String set = setName(arg, at, "a value set name such as migration.destinations");
        return set == null ? null : new ValueMatcher.InValueSet(set);
      case "any-key":
        StringMatcher anyOf = keyGlobs(arg, at);
        return anyOf == null ? null : new ValueMatcher.AnyKey(anyOf);
      default:
        StringMatcher allOf = keyGlobs(arg, at);
        return allOf == null ? null : new ValueMatcher.OnlyKeys(allOf);
    }
  }

  /** A fact or value set name, or {@code null} after recording why it is invalid. */
  String setName(JsonNode arg, String field, String example) {
    if (!arg.isTextual() || !io.qmpsidecar.policy.ValueSets.NAME.matcher(arg.textValue()).matches()) {
      problems.at(field, arg + " is not a set name: write " + example
          + " (words of letters and digits joined by '.' or '-')");
      return null;
    }
    return arg.textValue();
  }

  private ValueMatcher in(JsonNode arg, String field) {
    if (!arg.isArray() || arg.isEmpty()) {
      problems.at(field, "must be a non-empty list of values");
      return null;
    }
    Set<JsonNode> members = new LinkedHashSet<>();
    arg.forEach(members::add);
    return new ValueMatcher.In(Set.copyOf(members));
  }

  private ValueMatcher text(String op, JsonNode arg, String field, boolean ignoreCase) {
    if (!arg.isTextual() || arg.textValue().isEmpty()) {
      problems.at(field, "must be a non-empty string");
      return null;
    }
    String written = arg.textValue();
    if (op.equals("regex")) {
      try {
        int flags = ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0;
        return new ValueMatcher.Text(new StringMatcher.Regex(Pattern.compile(written, flags)), false);
      } catch (PatternSyntaxException e) {
        problems.at(field, "invalid regular expression: " + e.getDescription()
            + " near index " + e.getIndex());
        return null;
      }
    }
    String pattern = ignoreCase ? written.toLowerCase(Locale.ROOT) : written;
    return new ValueMatcher.Text(op.equals("glob") ? StringMatcher.glob(pattern) : new StringMatcher.Prefix(pattern),
        ignoreCase);
  }

  private ValueMatcher range(JsonNode arg, String field) {
    if (!arg.isObject() || !(arg.has("min") || arg.has("max"))) {
      problems.at(field, "must be a map with 'min', 'max' or both, e.g. {min: 1, max: 8}");
      return null;
    }
    for (Iterator<String> names = arg.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!name.equals("min") && !name.equals("max")) {
        problems.at(field + "." + name, "unknown key '" + name + "': a range has only min and max");
        return null;
      }
      if (!arg.get(name).isNumber()) {
        problems.at(field + "." + name, "must be a number");
        return null;
      }
    }
    double min = arg.has("min") ? arg.get("min").doubleValue() : Double.NEGATIVE_INFINITY;
    double max = arg.has("max") ? arg.get("max").doubleValue() : Double.POSITIVE_INFINITY;
    if (min > max) {
      problems.at(field, "min " + arg.get("min") + " is greater than max " + arg.get("max")
          + ": swap them");
      return null;
    }
    return new ValueMatcher.Range(min, max);
  }

  private StringMatcher keyGlobs(JsonNode arg, String field) {
    List<StringMatcher> globs = new ArrayList<>();
    if (arg.isTextual() && !arg.textValue().isEmpty()) {
      globs.add(StringMatcher.glob(CommandNames.canonicalPattern(arg.textValue())));
    } else if (arg.isArray() && !arg.isEmpty()) {
      for (JsonNode element : arg) {
        if (!element.isTextual() || element.textValue().isEmpty()) {
          problems.at(field, "must list key names or globs as non-empty strings");
          return null;
        }
        globs.add(StringMatcher.glob(CommandNames.canonicalPattern(element.textValue())));
      }
    } else {
      problems.at(field, "must be a key glob or a non-empty list of key globs, e.g. [romfile, 'x-*']");
      return null;
    }
    return new AnyOf(List.copyOf(globs));
  }

  /** Matches when any of several globs does. */
  record AnyOf(List<StringMatcher> globs) implements StringMatcher {
    @Override
    public boolean matches(String value) {
      for (StringMatcher glob : globs) {
        if (glob.matches(value)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public int specificity() {
      return 1;
    }
  }
}
