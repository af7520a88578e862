package io.qmpsidecar.sidecar.daemon;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import org.slf4j.event.KeyValuePair;

/**
 * One JSON object per event, on one line: {@code time} (ISO-8601, UTC), {@code level},
 * {@code logger}, {@code thread}, {@code message} with its arguments substituted, then when
 * present {@code mdc} (the MDC), {@code kv} (the event's SLF4J key/values: a {@link JsonNode}
 * value is written as JSON, others as JSON scalars or their text) and {@code error} (the
 * exception's stack trace).
 *
 * <p>Written here rather than taken from logback's {@code JsonEncoder}, which writes the message
 * template without its arguments ({@code "VM {}: {}"}) and the key/values as text, or from
 * logstash-logback-encoder, a dependency of some 200 classes for what these 100 lines do with the
 * Jackson the daemon already loads.
 */
final class JsonLineEncoder extends LineEncoder {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** ISO-8601 in UTC with milliseconds, always three digits: {@code 2025-06-03T09:29:57.650Z}. */
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX").withZone(ZoneOffset.UTC);

  @Override
  public byte[] encode(ILoggingEvent event) {
    ByteArrayOutputStream line = new ByteArrayOutputStream(256);
    try (JsonGenerator json = JSON.createGenerator(line)) {
      json.writeStartObject();
      json.writeStringField("time", TIME.format(event.getInstant()));
      json.writeStringField("level", event.getLevel().toString());
      json.writeStringField("logger", event.getLoggerName());
      json.writeStringField("thread", event.getThreadName());
      json.writeStringField("message", event.getFormattedMessage());
      Map<String, String> mdc = event.getMDCPropertyMap();
      if (mdc != null && !mdc.isEmpty()) {
        json.writeObjectFieldStart("mdc");
        for (Map.Entry<String, String> e : mdc.entrySet()) {
          json.writeStringField(e.getKey(), e.getValue());
        }
        json.writeEndObject();
      }
      List<KeyValuePair> pairs = event.getKeyValuePairs();
      if (pairs != null && !pairs.isEmpty()) {
        json.writeObjectFieldStart("kv");
        for (KeyValuePair pair : pairs) {
          json.writeFieldName(pair.key);
          value(json, pair.value);
        }
        json.writeEndObject();
      }
      IThrowableProxy thrown = event.getThrowableProxy();
      if (thrown != null) {
        json.writeStringField("error", ThrowableProxyUtil.asString(thrown));
      }
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a log event as JSON", e);
    }
    line.write('\n');
    return line.toByteArray();
  }

  private static void value(JsonGenerator json, Object value) throws IOException {
    if (value == null) {
      json.writeNull();
    } else if (value instanceof JsonNode node) {
      json.writeTree(node);
    } else if (value instanceof Boolean b) {
      json.writeBoolean(b);
    } else if (value instanceof Integer || value instanceof Long) {
      json.writeNumber(((Number) value).longValue());
    } else {
      json.writeString(value.toString());
    }
  }
}
