package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.Iterator;
import java.util.Map;

/**
 * Writes JSON the way QEMU's monitor does ({@code qobject/json-writer.c}, not pretty): {@code ": "}
 * after a member name, {@code ", "} between members and elements, only ASCII (every other
 * character, and control characters, as {@code \\uXXXX} with upper-case hex, beyond the BMP as
 * a surrogate pair), and floating-point numbers as C's {@code %.17g}. Members are written in the
 * order the object holds them: values parsed by {@link QemuJsonParser} are already in QEMU's
 * order, and values QEMU sent keep the order QEMU wrote them in.
 */
final class QemuJsonWriter {
  private static final MathContext SEVENTEEN_DIGITS = new MathContext(17, RoundingMode.HALF_EVEN);
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private QemuJsonWriter() {}

  static String write(JsonNode value) {
    StringBuilder out = new StringBuilder();
    value(out, value);
    return out.toString();
  }

  static void value(StringBuilder out, JsonNode value) {
    switch (value.getNodeType()) {
      case OBJECT -> {
        out.append('{');
        boolean first = true;
        for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> member = it.next();
          out.append(first ? "" : ", ");
          first = false;
          string(out, member.getKey());
          out.append(": ");
          value(out, member.getValue());
        }
        out.append('}');
      }
      case ARRAY -> {
        out.append('[');
        for (int i = 0; i < value.size(); i++) {
          out.append(i == 0 ? "" : ", ");
          value(out, value.get(i));
        }
        out.append(']');
      }
      case STRING -> string(out, value.textValue());
      case BOOLEAN -> out.append(value.booleanValue());
      case NUMBER -> out.append(value.isFloatingPointNumber() ? percentG17(value.doubleValue())
          : value.bigIntegerValue().toString());
      default -> out.append("null");
    }
  }

  static void string(StringBuilder out, String text) {
    out.append('"');
    text.codePoints().forEach(cp -> {
      switch (cp) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (cp > 0xFFFF) {
            hex4(out, 0xD800 + ((cp - 0x10000) >> 10));
            hex4(out, 0xDC00 + ((cp - 0x10000) & 0x3FF));
          } else if (cp < 0x20 || cp >= 0x7F) {
            hex4(out, cp);
          } else {
            out.append((char) cp);
          }
        }
      }
    });
    out.append('"');
  }

  private static void hex4(StringBuilder out, int unit) {
    out.append("\\u").append(HEX[(unit >> 12) & 0xF]).append(HEX[(unit >> 8) & 0xF])
        .append(HEX[(unit >> 4) & 0xF]).append(HEX[unit & 0xF]);
  }

  /** C's {@code printf("%.17g", v)} (glibc): 17 significant digits, trailing zeros removed. */
  static String percentG17(double v) {
    if (Double.isNaN(v)) {
      return (Double.doubleToRawLongBits(v) < 0 ? "-" : "") + "nan";
    }
    String sign = (Double.doubleToRawLongBits(v) < 0) ? "-" : "";
    if (Double.isInfinite(v)) {
      return sign + "inf";
    }
    if (v == 0) {
      return sign + "0";
    }
    BigDecimal rounded = new BigDecimal(Math.abs(v)).round(SEVENTEEN_DIGITS);
    int exponent = rounded.precision() - rounded.scale() - 1;
    if (exponent < -4 || exponent >= 17) {
      String digits = rounded.unscaledValue().toString().replaceFirst("0+$", "");
      StringBuilder out = new StringBuilder(sign).append(digits.charAt(0));
      if (digits.length() > 1) {
        out.append('.').append(digits, 1, digits.length());
      }
      out.append(exponent < 0 ? "e-" : "e+");
      int magnitude = Math.abs(exponent);
      return out.append(magnitude < 10 ? "0" : "").append(magnitude).toString();
    }
    return sign + rounded.stripTrailingZeros().toPlainString();
  }
}
