package io.qmpsidecar.policy.impl;

import java.util.regex.Pattern;

/**
 * A compiled name pattern: {@code *} matches any run of characters, {@code ?} one character (line
 * breaks included: a value cannot slip a line break past a glob), everything else itself.
 * Patterns without wildcards compile to a string comparison and {@code prefix*} patterns to a
 * prefix test, so the common cases cost no regex.
 */
interface StringMatcher {

  boolean matches(String value);

  /** How specific the pattern is: 2 for an exact name, 1 for a glob, 0 for {@code *}. */
  int specificity();

  static StringMatcher glob(String pattern) {
    if (pattern.equals("*")) {
      return new Any();
    }
    int star = pattern.indexOf('*');
    boolean question = pattern.indexOf('?') >= 0;
    if (star < 0 && !question) {
      return new Exact(pattern);
    }
    if (!question && star == pattern.length() - 1) {
      return new Prefix(pattern.substring(0, star));
    }
    return new Regex(Pattern.compile(globToRegex(pattern), Pattern.DOTALL));
  }

  static String globToRegex(String glob) {
    StringBuilder regex = new StringBuilder();
    int literalStart = 0;
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' || c == '?') {
        if (i > literalStart) {
          regex.append(Pattern.quote(glob.substring(literalStart, i)));
        }
        regex.append(c == '*' ? ".*" : ".");
        literalStart = i + 1;
      }
    }
    if (literalStart < glob.length()) {
      regex.append(Pattern.quote(glob.substring(literalStart)));
    }
    return regex.toString();
  }

  record Any() implements StringMatcher {
    @Override
    public boolean matches(String value) {
      return true;
    }

    @Override
    public int specificity() {
      return 0;
    }
  }

  record Exact(String name) implements StringMatcher {
    @Override
    public boolean matches(String value) {
      return name.equals(value);
    }

    @Override
    public int specificity() {
      return 2;
    }
  }

  record Prefix(String prefix) implements StringMatcher {
    @Override
    public boolean matches(String value) {
      return value.startsWith(prefix);
    }

    @Override
    public int specificity() {
      return 1;
    }
  }

  record Regex(Pattern pattern) implements StringMatcher {
    @Override
    public boolean matches(String value) {
      return pattern.matcher(value).matches();
    }

    @Override
    public int specificity() {
      return 1;
    }
  }
}
