package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/** A test on one JSON value, compiled from a matcher in a policy's {@code when} section. */
interface ValueMatcher {

  boolean test(JsonNode value, EvalContext context);

  /** Matches any value; stands for {@code present: true}. */
  record Always() implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      return true;
    }
  }

  /** JSON equality; numbers compare by value ({@code 1} equals {@code 1.0}). */
  record Equals(JsonNode expected) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      return same(expected, value);
    }
  }

  /** Equality with any member of a set. */
  record In(Set<JsonNode> members) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      for (JsonNode member : members) {
        if (same(member, value)) {
          return true;
        }
      }
      return false;
    }
  }

  /** A string test (glob, regex, prefix, or exact text), optionally ignoring case. */
  record Text(StringMatcher matcher, boolean ignoreCase) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      if (!value.isTextual()) {
        return false;
      }
      String text = value.textValue();
      return matcher.matches(ignoreCase ? text.toLowerCase(Locale.ROOT) : text);
    }
  }

  /** Inclusive numeric range; strings and other non-numbers never match. */
  record Range(double min, double max) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      if (!value.isNumber()) {
        return false;
      }
      double v = value.doubleValue();
      return v >= min && v <= max;
    }
  }

  /** A string that is a member of the request's fact set {@code name}. */
  record Fact(String name) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      return value.isTextual() && context.fact(name).contains(value.textValue());
    }
  }

  /** A string that is a member of the configuration's value set {@code name}. */
  record InValueSet(String name) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      return value.isTextual() && context.valueSet(name).contains(value.textValue());
    }
  }

  /** The inverse of another matcher (on a value that is present). */
  record Not(ValueMatcher inner) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      return !inner.test(value, context);
    }
  }

  /**
   * Matches an object having at least one key whose canonical spelling (lower case, {@code _}
   * as {@code -}) satisfies the inner string test; catches spelling variants of a key.
   */
  record AnyKey(StringMatcher keys) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      if (!value.isObject()) {
        return false;
      }
      for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
        if (keys.matches(CommandNames.canonicalPattern(names.next()))) {
          return true;
        }
      }
      return false;
    }
  }

  /**
   * Matches an object all of whose keys, in canonical spelling, satisfy the string test: an
   * allow-list of argument names.
   */
  record OnlyKeys(StringMatcher keys) implements ValueMatcher {
    @Override
    public boolean test(JsonNode value, EvalContext context) {
      if (!value.isObject()) {
        return false;
      }
      for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
        if (!keys.matches(CommandNames.canonicalPattern(names.next()))) {
          return false;
        }
      }
      return true;
    }
  }

  private static boolean same(JsonNode expected, JsonNode value) {
    if (expected.isNumber() && value.isNumber()) {
      return expected.doubleValue() == value.doubleValue();
    }
    return expected.equals(value);
  }
}
