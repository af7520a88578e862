package io.qmpsidecar.policy.impl;

/**
 * Canonical spelling of QMP command names for matching. QEMU looks commands up with an exact,
 * case-sensitive {@code strcmp} (qapi/qmp-registry.c), so {@code Device_Add} or
 * {@code device-add} never reach {@code device_add}; folding case and {@code _}/{@code -} here
 * therefore only makes deny rules catch more spellings, never fewer, and lets a rule written as
 * {@code netdev-add} match QEMU's {@code netdev_add}.
 */
final class CommandNames {

  /** The longest command name the engine accepts; QEMU's longest is well under this. */
  static final int MAX_LENGTH = 128;

  private CommandNames() {}

  /**
   * Returns the canonical form (ASCII lower case, {@code _} replaced by {@code -}), or
   * {@code null} when the name is empty, too long, or has a character outside
   * {@code [A-Za-z0-9_-]}: no QMP command has such a name, so the engine refuses to interpret it.
   */
  static String canonical(String name) {
    int n = name.length();
    if (n == 0 || n > MAX_LENGTH) {
      return null;
    }
    boolean change = false;
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
        continue;
      }
      if (c >= 'A' && c <= 'Z' || c == '_') {
        change = true;
        continue;
      }
      return null;
    }
    if (!change) {
      return name;
    }
    char[] out = new char[n];
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      out[i] = c == '_' ? '-' : c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }
    return new String(out);
  }

  /**
   * True when {@code key} equals {@code canonical} once case and {@code _}/{@code -} are folded;
   * {@code canonical} must already be in canonical form. Allocates nothing.
   */
  static boolean sameCanonical(String key, String canonical) {
    int n = key.length();
    if (n != canonical.length()) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = key.charAt(i);
      char folded = c == '_' ? '-' : c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
      if (folded != canonical.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Canonical form of a name pattern in a policy file (wildcards kept). */
  static String canonicalPattern(String pattern) {
    return pattern.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
