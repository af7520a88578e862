package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Turns the tokens of one message into a value exactly as QEMU's {@code json-parser.c} does, with
 * its error texts ("JSON parse error, expecting value", "… duplicate key", "… invalid keyword
 * 'nul'", "… \\ud800 is not a valid Unicode character", …). Values carry QEMU's types: an
 * integer that fits in 64 bits signed is a long, else one that fits unsigned a big integer, else
 * (like every number with a fraction or exponent) a double; objects hold their members in the
 * order QEMU would write them ({@link QdictOrder}).
 */
final class QemuJsonParser {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

  /** A value, or QEMU's error text for the message. */
  record Result(JsonNode value, String error) {}

  private final JsonTokens tokens;
  private final byte[] text;
  private int next;
  private String error;

  private QemuJsonParser(JsonTokens tokens) {
    this.tokens = tokens;
    this.text = tokens.text();
  }

  static Result parse(JsonTokens tokens) {
    QemuJsonParser parser = new QemuJsonParser(tokens);
    JsonNode value = parser.value();
    return parser.error != null ? new Result(null, parser.error) : new Result(value, null);
  }

  private void fail(String message) {
    if (error == null) {
      error = "JSON parse error, " + message;
    }
  }

  private boolean atEnd() {
    return next >= tokens.count();
  }

  private JsonNode value() {
    if (atEnd()) {
      fail("premature EOI");
      return null;
    }
    return switch (tokens.type(next)) {
      case JsonTokens.LCURLY -> object();
      case JsonTokens.LSQUARE -> array();
      case JsonTokens.INTEGER, JsonTokens.FLOAT, JsonTokens.STRING -> literal();
      case JsonTokens.KEYWORD -> keyword();
      default -> {
        fail("expecting value");
        yield null;
      }
    };
  }

  private JsonNode object() {
    next++;
    Map<String, JsonNode> members = new LinkedHashMap<>();
    if (atEnd()) {
      fail("premature EOI");
      return null;
    }
    if (tokens.type(next) == JsonTokens.RCURLY) {
      next++;
      return NODES.objectNode();
    }
    if (!pair(members)) {
      return null;
    }
    while (true) {
      if (atEnd()) {
        fail("premature EOI");
        return null;
      }
      byte type = tokens.type(next++);
      if (type == JsonTokens.RCURLY) {
        break;
      }
      if (type != JsonTokens.COMMA) {
        fail("expected separator in dict");
        return null;
      }
      if (!pair(members)) {
        return null;
      }
    }
    ObjectNode object = NODES.objectNode();
    for (String key : QdictOrder.of(new ArrayList<>(members.keySet()))) {
      object.set(key, members.get(key));
    }
    return object;
  }

  private boolean pair(Map<String, JsonNode> members) {
    if (atEnd()) {
      fail("premature EOI");
      return false;
    }
    JsonNode key = value();
    if (key == null || !key.isTextual()) {
      fail("key is not a string in object");
      return false;
    }
    if (atEnd()) {
      fail("premature EOI");
      return false;
    }
    if (tokens.type(next++) != JsonTokens.COLON) {
      fail("missing : in object pair");
      return false;
    }
    JsonNode value = value();
    if (value == null) {
      fail("Missing value in dict");
      return false;
    }
    if (members.containsKey(key.textValue())) {
      fail("duplicate key");
      return false;
    }
    members.put(key.textValue(), value);
    return true;
  }

  private JsonNode array() {
    next++;
    ArrayNode array = NODES.arrayNode();
    if (atEnd()) {
      fail("premature EOI");
      return null;
    }
    if (tokens.type(next) == JsonTokens.RSQUARE) {
      next++;
      return array;
    }
    while (true) {
      JsonNode element = value();
      if (element == null) {
        fail("expecting value");
        return null;
      }
      array.add(element);
      if (atEnd()) {
        fail("premature EOI");
        return null;
      }
      byte type = tokens.type(next++);
      if (type == JsonTokens.RSQUARE) {
        return array;
      }
      if (type != JsonTokens.COMMA) {
        fail("expected separator in list");
        return null;
      }
    }
  }

  private JsonNode keyword() {
    String word = tokens.ascii(next++);
    return switch (word) {
      case "true" -> NODES.booleanNode(true);
      case "false" -> NODES.booleanNode(false);
      case "null" -> NODES.nullNode();
      default -> {
        fail("invalid keyword '" + word + "'");
        yield null;
      }
    };
  }

  private JsonNode literal() {
    int i = next++;
    byte type = tokens.type(i);
    if (type == JsonTokens.STRING) {
      String s = string(tokens.start(i), tokens.end(i));
      return s == null ? null : NODES.textNode(s);
    }
    String number = tokens.ascii(i);
    if (type == JsonTokens.INTEGER) {
      BigInteger value = new BigInteger(number);
      if (value.bitLength() < 64) {
        return NODES.numberNode(value.longValue());
      }
      if (value.signum() > 0 && value.compareTo(UINT64_MAX) <= 0) {
        return NODES.numberNode(value);
      }
    }
    double d = Double.parseDouble(number);
    return Double.isInfinite(d) ? new InfiniteNode(d > 0) : NODES.numberNode(d);
  }

  /** QEMU's {@code parse_string}: the token from its opening quote to its closing one. */
  private String string(int start, int end) {
    byte quote = text[start];
    StringBuilder out = new StringBuilder(end - start);
    int[] seqEnd = new int[1];
    int p = start + 1;
    while (text[p] != quote) {
      if (text[p] == '\\') {
        int escape = p;
        p++;
        byte kind = text[p++];
        switch (kind) {
          case '"' -> out.append('"');
          case '\'' -> out.append('\'');
          case '\\' -> out.append('\\');
          case '/' -> out.append('/');
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> {
            int cp = hex4(p, end);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p + 1 < end && text[p] == '\\' && text[p + 1] == 'u') {
              int trailing = hex4(p + 2, end);
              if (trailing >= 0xDC00 && trailing <= 0xDFFF) {
                cp = 0x10000 + ((cp & 0x3FF) << 10) + (trailing & 0x3FF);
                p += 6;
              } else {
                cp = -1;
              }
            }
            if (!ModifiedUtf8.isValid(cp)) {
              // QEMU prints the escape as written: up to the end of the C string it reads.
              byte[] shown = Arrays.copyOfRange(text, escape, Math.min(p, end));
              fail(ModifiedUtf8.lenientText(shown) + " is not a valid Unicode character");
              return null;
            }
            out.appendCodePoint(cp);
          }
          default -> {
            fail("invalid escape sequence in string");
            return null;
          }
        }
      } else {
        int cp = ModifiedUtf8.codepoint(text, p, end, seqEnd);
        if (cp == ModifiedUtf8.INVALID) {
          fail("invalid UTF-8 sequence in string");
          return null;
        }
        out.appendCodePoint(cp);
        p = seqEnd[0];
      }
    }
    return out.toString();
  }

  /** QEMU's {@code cvt4hex}: four hex digits, or -1 at the first other character. */
  private int hex4(int p, int end) {
    int cp = 0;
    for (int i = 0; i < 4; i++) {
      int c = p + i < end ? text[p + i] : 0;
      int digit = Character.digit(c, 16);
      if (digit < 0) {
        return -1;
      }
      cp = (cp << 4) | digit;
    }
    return cp;
  }
}
