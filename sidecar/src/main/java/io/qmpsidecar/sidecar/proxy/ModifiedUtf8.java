package io.qmpsidecar.sidecar.proxy;

import java.io.ByteArrayOutputStream;

/**
 * QEMU's "modified UTF-8" (UTF-8 in which U+0000 is also written {@code C0 80}), decoded and
 * checked the way QEMU's {@code util/unicode.c} does: its JSON parser rejects strings that do not
 * decode, and its JSON writer shows each undecodable sequence as U+FFFD. Unicode's 66
 * noncharacters, surrogates, overlong forms (except {@code C0 80}) and values beyond U+10FFFF
 * are invalid.
 */
final class ModifiedUtf8 {
  static final int INVALID = -1;
  private static final int[] MIN_CODEPOINT = {0x80, 0x800, 0x10000, 0x200000, 0x4000000};

  private ModifiedUtf8() {}

  /**
   * Decodes the sequence starting at {@code pos}; bytes at or beyond {@code limit} read as 0, as
   * past the end of a C string.
   *
   * @param end receives the index just after the sequence, as QEMU advances: one byte for an
   *     impossible or continuation byte, the continuation bytes actually present for a truncated
   *     sequence, the whole sequence otherwise
   * @return the code point, or {@link #INVALID}
   */
  static int codepoint(byte[] s, int pos, int limit, int[] end) {
    int first = byteAt(s, pos, limit);
    if (first == 0) {
      end[0] = pos;
      return INVALID;
    }
    int p = pos + 1;
    int cp;
    if (first < 0x80) {
      cp = first;
    } else if (first >= 0xFE || (first & 0x40) == 0) {
      cp = INVALID;
    } else {
      int len = 0;
      int mask = 0x80;
      while ((first & mask) != 0) {
        len++;
        mask >>= 1;
      }
      cp = first & (mask - 1);
      for (int i = 1; i < len; i++) {
        int next = byteAt(s, p, limit);
        if ((next & 0xC0) != 0x80) {
          end[0] = p;
          return INVALID;
        }
        p++;
        cp = (cp << 6) | (next & 0x3F);
      }
      if (cp > 0x10FFFF || isNoncharacter(cp) || (cp >= 0xD800 && cp <= 0xDFFF)
          || (cp < MIN_CODEPOINT[len - 2] && !(cp == 0 && len == 2))) {
        cp = INVALID;
      }
    }
    end[0] = p;
    return cp;
  }

  /** Whether QEMU's encoder accepts {@code cp} (a Unicode scalar value that is no noncharacter). */
  static boolean isValid(int cp) {
    return cp >= 0 && cp <= 0x10FFFF && !isNoncharacter(cp) && !(cp >= 0xD800 && cp <= 0xDFFF);
  }

  private static boolean isNoncharacter(int cp) {
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
  }

  /**
   * A C string's text as QEMU's JSON writer shows it: it ends at the first NUL byte, and every
   * sequence that does not decode becomes U+FFFD.
   */
  static String lenientText(byte[] bytes) {
    int limit = 0;
    while (limit < bytes.length && bytes[limit] != 0) {
      limit++;
    }
    StringBuilder out = new StringBuilder(limit);
    int[] end = new int[1];
    for (int p = 0; p < limit; p = end[0]) {
      int cp = codepoint(bytes, p, limit, end);
      out.appendCodePoint(cp == INVALID ? 0xFFFD : cp);
    }
    return out.toString();
  }

  /** {@code text} in modified UTF-8 (U+0000 as {@code C0 80}), as QEMU stores a string. */
  static byte[] encode(String text) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() + 8);
    text.codePoints().forEach(cp -> {
      if (cp > 0 && cp < 0x80) {
        out.write(cp);
      } else if (cp < 0x800) {
        out.write(0xC0 | (cp >> 6));
        out.write(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        out.write(0xE0 | (cp >> 12));
        out.write(0x80 | ((cp >> 6) & 0x3F));
        out.write(0x80 | (cp & 0x3F));
      } else {
        out.write(0xF0 | (cp >> 18));
        out.write(0x80 | ((cp >> 12) & 0x3F));
        out.write(0x80 | ((cp >> 6) & 0x3F));
        out.write(0x80 | (cp & 0x3F));
      }
    });
    return out.toByteArray();
  }

  private static int byteAt(byte[] s, int i, int limit) {
    return i < limit ? s[i] & 0xFF : 0;
  }
}
