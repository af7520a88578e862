package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.Map;

/**
 * One entry of a {@code when} section: a path into the request and a matcher. A path segment
 * {@code *} stands for every member of an object or element of an array, and the condition holds
 * when any value the path reaches satisfies the matcher. A path that reaches nothing fails every
 * matcher except {@code present: false}, which holds exactly then.
 */
final class Condition {

  private final String path;
  private final String[] segments;
  private final int[] indexes;
  private final ValueMatcher matcher;
  private final boolean absent;

  /**
   * @param segments path segments below the root ({@code arguments} or {@code data}), already
   *     split on dots
   * @param absent true for {@code present: false}
   */
  Condition(String path, String[] segments, ValueMatcher matcher, boolean absent) {
    this.path = path;
    this.segments = new String[segments.length];
    for (int i = 0; i < segments.length; i++) {
      this.segments[i] = segments[i].equals("*") ? "*" : CommandNames.canonicalPattern(segments[i]);
    }
    this.indexes = new int[segments.length];
    for (int i = 0; i < segments.length; i++) {
      indexes[i] = index(segments[i]);
    }
    this.matcher = matcher;
    this.absent = absent;
  }

  String path() {
    return path;
  }

  boolean test(JsonNode root, EvalContext context) {
    boolean found = anyMatch(root, 0, context);
    return absent != found;
  }

  /** The name of the fact set the matcher refers to, if any. */
  String factName() {
    return factName(matcher);
  }

  private static String factName(ValueMatcher m) {
    if (m instanceof ValueMatcher.Fact f) {
      return f.name();
    }
    return m instanceof ValueMatcher.Not n ? factName(n.inner()) : null;
  }

  /** The name of the value set the matcher refers to, if any. */
  String valueSetName() {
    return valueSetName(matcher);
  }

  private static String valueSetName(ValueMatcher m) {
    if (m instanceof ValueMatcher.InValueSet v) {
      return v.name();
    }
    return m instanceof ValueMatcher.Not n ? valueSetName(n.inner()) : null;
  }

  private boolean anyMatch(JsonNode node, int depth, EvalContext context) {
    if (depth == segments.length) {
      return absent || matcher.test(node, context);
    }
    String segment = segments[depth];
    if (segment.equals("*")) {
      for (Iterator<JsonNode> children = node.elements(); children.hasNext(); ) {
        if (anyMatch(children.next(), depth + 1, context)) {
          return true;
        }
      }
      return false;
    }
    if (node.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        if (CommandNames.sameCanonical(field.getKey(), segment)
            && anyMatch(field.getValue(), depth + 1, context)) {
          return true;
        }
      }
      return false;
    }
    JsonNode child = node.isArray() && indexes[depth] >= 0 ? node.get(indexes[depth]) : null;
    return child != null && anyMatch(child, depth + 1, context);
  }

  private static int index(String segment) {
    if (segment.isEmpty() || segment.length() > 9) {
      return -1;
    }
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    return Integer.parseInt(segment);
  }
}
