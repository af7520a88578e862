package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;

/**
 * Splits a client's byte stream into JSON messages exactly as QEMU's monitor does
 * ({@code qobject/json-lexer.c} and {@code json-streamer.c} of QEMU 7.2 and 10.0), including its
 * error recovery, so that every client gets the answers QEMU would give for the same bytes:
 *
 * <ul>
 *   <li>a message ends where its outermost object or array closes, newline or not, and a scalar
 *       at the top level is a message of its own ({@code 1 {…}} is two);
 *   <li>a byte no token can hold ({@code hello} is a token, an invalid keyword; {@code %}, a
 *       NUL, 0xFF or a raw newline inside a string are not) ends the message at once with
 *       {@code "JSON parse error, stray '<the token so far>'"}; the lexer then skips input up to
 *       the next {@code { } [ ] : ,}, control character, 0xFE or 0xFF, where it starts afresh;
 *   <li>QEMU's limits: nesting deeper than 1024, more than 2,097,152 tokens, and more token text
 *       than the size limit (QEMU: 64 MiB; here the proxy's {@code maxLineBytes}) end the
 *       message with QEMU's error, and reading continues after it.
 * </ul>
 *
 * <p>Strings in single quotes are accepted, as QEMU does. Not thread-safe: confined to the
 * session's context.
 */
final class QemuJsonStreamer {

  /** Receives each message: a value, or QEMU's error text for what could not be read. */
  interface Sink {
    void value(JsonNode value);

    void error(String desc);
  }

  static final int MAX_NESTING = 1024;
  static final int MAX_TOKEN_COUNT = 2 << 20;

  // Lexer states.
  private static final int START = 0;
  private static final int RECOVERY = 1;
  private static final int DQ_STRING = 2;
  private static final int DQ_ESCAPE = 3;
  private static final int SQ_STRING = 4;
  private static final int SQ_ESCAPE = 5;
  private static final int ZERO = 6;
  private static final int DIGITS = 7;
  private static final int SIGN = 8;
  private static final int MANTISSA = 9;
  private static final int MANTISSA_DIGITS = 10;
  private static final int EXP_E = 11;
  private static final int EXP_SIGN = 12;
  private static final int EXP_DIGITS = 13;
  private static final int KEYWORD = 14;
  // Transition targets that are not states: a finished token, or an error.
  private static final int TOKEN = 0x100;
  private static final int ERROR = 0x200;
  /** The transition looks at the byte without consuming it: it is read again in the new state. */
  private static final int LOOKAHEAD = 0x1000;

  private final int maxBytes;
  private final Sink sink;
  private final JsonTokens tokens = new JsonTokens();
  private byte[] token = new byte[64];
  private int tokenLength;
  private int state = START;
  private int braces;
  private int brackets;
  private long tokenBytes;

  /**
   * @param maxBytes the most token text a message (and any single token) may have; QEMU's
   *     limit is 64 MiB
   */
  QemuJsonStreamer(int maxBytes, Sink sink) {
    this.maxBytes = maxBytes;
    this.sink = sink;
  }

  /** Reads one byte; any message it completes goes to the sink before this returns. */
  void feed(byte b) {
    int c = b & 0xFF;
    boolean consumed = false;
    while (!consumed) {
      int next = transition(state, c);
      consumed = (next & LOOKAHEAD) == 0;
      int target = next & ~LOOKAHEAD;
      if (consumed) {
        append(b);
      }
      if ((target & TOKEN) != 0) {
        token((byte) (target & 0xFF));
        tokenLength = 0;
        state = START;
      } else if (target == ERROR) {
        stray();
        tokenLength = 0;
        state = RECOVERY;
      } else {
        if (target == START || target == RECOVERY) {
          tokenLength = 0;
        }
        state = target;
      }
    }
    if (tokenLength > maxBytes) {
      // QEMU's lexer hands an overlong token on, and its streamer refuses it for its size.
      tokenLength = 0;
      state = START;
      emitError("JSON token size limit exceeded");
    }
  }

  private static int transition(int state, int c) {
    switch (state) {
      case START:
        return start(c);
      case RECOVERY:
        if (c == '\t' || (c >= 0x20 && c <= 0xFD && "{}[]:,".indexOf(c) < 0)) {
          return RECOVERY;
        }
        return START | LOOKAHEAD;
      case DQ_STRING:
      case SQ_STRING:
        if (c < 0x20 || c > 0xFD) {
          return ERROR;
        }
        if (c == '\\') {
          return state == DQ_STRING ? DQ_ESCAPE : SQ_ESCAPE;
        }
        return c == (state == DQ_STRING ? '"' : '\'') ? TOKEN | JsonTokens.STRING : state;
      case DQ_ESCAPE:
        return c < 0x20 || c > 0xFD ? ERROR : DQ_STRING;
      case SQ_ESCAPE:
        return c < 0x20 || c > 0xFD ? ERROR : SQ_STRING;
      case ZERO:
        if (isDigit(c)) {
          return ERROR;
        }
        return c == '.' ? MANTISSA : TOKEN | JsonTokens.INTEGER | LOOKAHEAD;
      case DIGITS:
        if (isDigit(c)) {
          return DIGITS;
        }
        if (c == 'e' || c == 'E') {
          return EXP_E;
        }
        return c == '.' ? MANTISSA : TOKEN | JsonTokens.INTEGER | LOOKAHEAD;
      case SIGN:
        if (c == '0') {
          return ZERO;
        }
        return c >= '1' && c <= '9' ? DIGITS : ERROR;
      case MANTISSA:
        return isDigit(c) ? MANTISSA_DIGITS : ERROR;
      case MANTISSA_DIGITS:
        if (isDigit(c)) {
          return MANTISSA_DIGITS;
        }
        return c == 'e' || c == 'E' ? EXP_E : TOKEN | JsonTokens.FLOAT | LOOKAHEAD;
      case EXP_E:
        if (c == '-' || c == '+') {
          return EXP_SIGN;
        }
        return isDigit(c) ? EXP_DIGITS : ERROR;
      case EXP_SIGN:
        return isDigit(c) ? EXP_DIGITS : ERROR;
      case EXP_DIGITS:
        return isDigit(c) ? EXP_DIGITS : TOKEN | JsonTokens.FLOAT | LOOKAHEAD;
      case KEYWORD:
        return c >= 'a' && c <= 'z' ? KEYWORD : TOKEN | JsonTokens.KEYWORD | LOOKAHEAD;
      default:
        throw new IllegalStateException("lexer state " + state);
    }
  }

  private static int start(int c) {
    switch (c) {
      case '"':
        return DQ_STRING;
      case '\'':
        return SQ_STRING;
      case '0':
        return ZERO;
      case '-':
        return SIGN;
      case '{':
        return TOKEN | JsonTokens.LCURLY;
      case '}':
        return TOKEN | JsonTokens.RCURLY;
      case '[':
        return TOKEN | JsonTokens.LSQUARE;
      case ']':
        return TOKEN | JsonTokens.RSQUARE;
      case ',':
        return TOKEN | JsonTokens.COMMA;
      case ':':
        return TOKEN | JsonTokens.COLON;
      case ' ':
      case '\t':
      case '\r':
      case '\n':
        return START;
      default:
        if (c >= '1' && c <= '9') {
          return DIGITS;
        }
        return c >= 'a' && c <= 'z' ? KEYWORD : ERROR;
    }
  }

  private static boolean isDigit(int c) {
    return c >= '0' && c <= '9';
  }

  private void append(byte b) {
    if (tokenLength == token.length) {
      token = Arrays.copyOf(token, tokenLength * 2);
    }
    token[tokenLength++] = b;
  }

  private void stray() {
    byte[] text = Arrays.copyOf(token, tokenLength);
    emitError("JSON parse error, stray '" + ModifiedUtf8.lenientText(text) + "'");
    if (token.length > 4096) {
      token = new byte[64];
    }
  }

  /** QEMU's {@code json_message_process_token}. */
  private void token(byte type) {
    switch (type) {
      case JsonTokens.LCURLY -> braces++;
      case JsonTokens.RCURLY -> braces--;
      case JsonTokens.LSQUARE -> brackets++;
      case JsonTokens.RSQUARE -> brackets--;
      default -> { }
    }
    if (tokenBytes + tokenLength + 1 > maxBytes) {
      emitError("JSON token size limit exceeded");
      return;
    }
    if (tokens.count() + 1 > MAX_TOKEN_COUNT) {
      emitError("JSON token count limit exceeded");
      return;
    }
    if (braces + brackets > MAX_NESTING) {
      emitError("JSON nesting depth limit exceeded");
      return;
    }
    tokens.add(type, token, tokenLength);
    tokenBytes += tokenLength;
    if ((braces > 0 || brackets > 0) && braces >= 0 && brackets >= 0) {
      return;
    }
    QemuJsonParser.Result result = QemuJsonParser.parse(tokens);
    reset();
    if (result.error() != null) {
      sink.error(result.error());
    } else {
      sink.value(result.value());
    }
  }

  private void emitError(String desc) {
    reset();
    sink.error(desc);
  }

  private void reset() {
    braces = 0;
    brackets = 0;
    tokens.clear();
    tokenBytes = 0;
  }
}
