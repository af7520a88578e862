package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.NumericNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * A number beyond the double range ({@code 1e400}), which QEMU reads as infinity. Jackson would
 * send a double infinity to QEMU as the string {@code "Infinity"}; this node is written as
 * {@code 1e999} (or {@code -1e999}), which QEMU reads as the same infinity the policy decided
 * on.
 */
final class InfiniteNode extends NumericNode {
  private static final long serialVersionUID = 1L;
  private final boolean positive;

  InfiniteNode(boolean positive) {
    this.positive = positive;
  }

  @Override
  public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
    g.writeNumber(positive ? "1e999" : "-1e999");
  }

  @Override
  public JsonToken asToken() {
    return JsonToken.VALUE_NUMBER_FLOAT;
  }

  @Override
  public JsonParser.NumberType numberType() {
    return JsonParser.NumberType.DOUBLE;
  }

  @Override
  public boolean isFloatingPointNumber() {
    return true;
  }

  @Override
  public boolean isDouble() {
    return true;
  }

  @Override
  public Number numberValue() {
    return doubleValue();
  }

  @Override
  public int intValue() {
    return (int) doubleValue();
  }

  @Override
  public long longValue() {
    return (long) doubleValue();
  }

  @Override
  public double doubleValue() {
    return positive ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
  }

  @Override
  public BigDecimal decimalValue() {
    throw new NumberFormatException("infinity has no decimal value");
  }

  @Override
  public BigInteger bigIntegerValue() {
    throw new NumberFormatException("infinity has no integer value");
  }

  @Override
  public boolean canConvertToInt() {
    return false;
  }

  @Override
  public boolean canConvertToLong() {
    return false;
  }

  @Override
  public String asText() {
    return positive ? "Infinity" : "-Infinity";
  }

  @Override
  public boolean isNaN() {
    return false;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof InfiniteNode other && other.positive == positive;
  }

  @Override
  public int hashCode() {
    return positive ? 1 : -1;
  }
}
