package io.qmpsidecar.qmp.impl.codec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpGreeting;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.QmpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one line of QMP into a {@link QmpMessage}; anything else is a protocol error. The line's
 * top level is read as a token stream and only the members a message carries become trees
 * ({@code return}, {@code error}, {@code data}, {@code id}, {@code QMP}): an event costs no tree
 * for its envelope or its timestamp. As with a whole-line tree, a repeated member's last value
 * counts and content after the object is ignored.
 */
public final class QmpMessageDecoder {
  private static final int EXCERPT = 120;
  private final ObjectMapper mapper;

  public QmpMessageDecoder(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /** The members of one line that a message is made of. */
  private static final class Members {
    JsonNode returned;
    JsonNode id;
    JsonNode error;
    JsonNode data;
    JsonNode qmp;
    String event;
    boolean timestamped;
    long seconds;
    long microseconds;
  }

  /**
   * @throws QmpProtocolException when the line is not a JSON object or not a greeting, reply
   *     or event
   */
  public QmpMessage decode(byte[] line) {
    Members m;
    try (JsonParser p = mapper.createParser(line)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new QmpProtocolException("QEMU sent a line that is not a JSON object: " + excerpt(line));
      }
      m = members(p);
    } catch (JsonProcessingException e) {
      throw new QmpProtocolException("QEMU sent a line that is not JSON (" + e.getOriginalMessage()
          + "): " + excerpt(line), e);
    } catch (IOException e) {
      throw new QmpProtocolException("cannot read QMP line: " + e.getMessage(), e);
    }
    if (m.returned != null) {
      return new QmpMessage.Return(m.id, m.returned);
    }
    if (m.error != null) {
      return new QmpMessage.Error(m.id, m.error.path("class").asText("GenericError"), m.error.path("desc").asText(""));
    }
    if (m.event != null) {
      Instant at = m.timestamped ? Instant.ofEpochSecond(m.seconds, m.microseconds * 1000) : Instant.now();
      return new QmpMessage.Event(new QmpEvent(m.event, m.data, at));
    }
    if (m.qmp != null && m.qmp.isObject()) {
      return new QmpMessage.Greeting(greeting(m.qmp));
    }
    throw new QmpProtocolException(
        "QEMU sent a JSON object that is neither greeting, reply nor event: " + excerpt(line));
  }

  private Members members(JsonParser p) throws IOException {
    Members m = new Members();
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken value = p.nextToken();
      switch (name) {
        case "return" -> m.returned = mapper.readTree(p);
        case "error" -> m.error = mapper.readTree(p);
        case "id" -> m.id = mapper.readTree(p);
        case "data" -> m.data = mapper.readTree(p);
        case "QMP" -> m.qmp = mapper.readTree(p);
        case "event" -> {
          m.event = value == JsonToken.VALUE_STRING ? p.getText() : null;
          p.skipChildren();
        }
        case "timestamp" -> timestamp(p, value, m);
        default -> p.skipChildren();
      }
    }
    if (t != JsonToken.END_OBJECT) {
      throw new QmpProtocolException("QMP line ends inside its object");
    }
    return m;
  }

  /** QEMU's {@code {"seconds":S,"microseconds":U}}; anything else reads as 0, like an absent field. */
  private static void timestamp(JsonParser p, JsonToken value, Members m) throws IOException {
    m.timestamped = true;
    m.seconds = 0;
    m.microseconds = 0;
    if (value != JsonToken.START_OBJECT) {
      p.skipChildren();
      return;
    }
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      p.nextToken();
      if (field.equals("seconds")) {
        m.seconds = p.getValueAsLong();
      } else if (field.equals("microseconds")) {
        m.microseconds = p.getValueAsLong();
      }
      p.skipChildren();
    }
  }

  private static QmpGreeting greeting(JsonNode qmp) {
    JsonNode v = qmp.path("version");
    JsonNode q = v.path("qemu");
    QmpVersion version = new QmpVersion(q.path("major").asInt(), q.path("minor").asInt(),
        q.path("micro").asInt(), v.path("package").asText(""));
    List<String> caps = new ArrayList<>();
    qmp.path("capabilities").forEach(c -> caps.add(c.asText()));
    return new QmpGreeting(version, caps);
  }

  private static String excerpt(byte[] line) {
    String text = new String(line, 0, Math.min(line.length, EXCERPT), StandardCharsets.UTF_8);
    return line.length > EXCERPT ? text + "… (" + line.length + " bytes)" : text;
  }
}
