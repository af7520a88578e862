package io.qmpsidecar.sidecar.proxy;

import java.util.Arrays;

/**
 * The tokens of one JSON message as QEMU's streamer collects them, kept compactly (a type byte
 * and an end offset per token, the texts back to back), so a message of {@code n} bytes of
 * token text costs about {@code 6n} bytes however it is split into tokens.
 */
final class JsonTokens {
  static final byte LCURLY = 1;
  static final byte RCURLY = 2;
  static final byte LSQUARE = 3;
  static final byte RSQUARE = 4;
  static final byte COLON = 5;
  static final byte COMMA = 6;
  static final byte INTEGER = 7;
  static final byte FLOAT = 8;
  static final byte KEYWORD = 9;
  static final byte STRING = 10;

  private byte[] types = new byte[16];
  private int[] ends = new int[16];
  private byte[] text = new byte[64];
  private int count;
  private int textLength;

  void add(byte type, byte[] source, int length) {
    if (count == types.length) {
      types = Arrays.copyOf(types, count * 2);
      ends = Arrays.copyOf(ends, count * 2);
    }
    if (textLength + length > text.length) {
      text = Arrays.copyOf(text, Math.max(text.length * 2, textLength + length));
    }
    System.arraycopy(source, 0, text, textLength, length);
    textLength += length;
    types[count] = type;
    ends[count] = textLength;
    count++;
  }

  int count() {
    return count;
  }

  byte type(int i) {
    return types[i];
  }

  int start(int i) {
    return i == 0 ? 0 : ends[i - 1];
  }

  int end(int i) {
    return ends[i];
  }

  byte[] text() {
    return text;
  }

  String ascii(int i) {
    return new String(text, start(i), end(i) - start(i), java.nio.charset.StandardCharsets.ISO_8859_1);
  }

  /** Forgets every token; a large message's arrays are released, not kept for the next one. */
  void clear() {
    count = 0;
    textLength = 0;
    if (types.length > 1024) {
      types = new byte[16];
      ends = new int[16];
    }
    if (text.length > 64 * 1024) {
      text = new byte[64];
    }
  }
}
