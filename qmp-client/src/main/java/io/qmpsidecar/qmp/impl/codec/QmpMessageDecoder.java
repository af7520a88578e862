package io.qmpsidecar.qmp.impl.codec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpGreeting;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.QmpVersion;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Turns one line of QMP into a {@link QmpMessage}; anything else is a protocol error. */
public final class QmpMessageDecoder {
  private static final int EXCERPT = 120;
  private final ObjectMapper mapper;

  public QmpMessageDecoder(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  /**
   * @throws QmpProtocolException when the line is not a JSON object or not a greeting, reply
   *     or event
   */
  public QmpMessage decode(byte[] line) {
    JsonNode node;
    try {
      node = mapper.readTree(line);
    } catch (JsonProcessingException e) {
      throw new QmpProtocolException("QEMU sent a line that is not JSON (" + e.getOriginalMessage()
          + "): " + excerpt(line), e);
    } catch (IOException e) {
      throw new QmpProtocolException("cannot read QMP line: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new QmpProtocolException("QEMU sent a line that is not a JSON object: " + excerpt(line));
    }
    if (node.has("return")) {
      return new QmpMessage.Return(node.get("id"), node.get("return"));
    }
    JsonNode error = node.get("error");
    if (error != null) {
      return new QmpMessage.Error(node.get("id"), error.path("class").asText("GenericError"),
          error.path("desc").asText(""));
    }
    JsonNode event = node.get("event");
    if (event != null && event.isTextual()) {
      return new QmpMessage.Event(new QmpEvent(event.asText(), node.get("data"), timestamp(node)));
    }
    JsonNode qmp = node.get("QMP");
    if (qmp != null && qmp.isObject()) {
      return new QmpMessage.Greeting(greeting(qmp));
    }
    throw new QmpProtocolException(
        "QEMU sent a JSON object that is neither greeting, reply nor event: " + excerpt(line));
  }

  private static Instant timestamp(JsonNode node) {
    JsonNode ts = node.get("timestamp");
    if (ts == null) {
      return Instant.now();
    }
    return Instant.ofEpochSecond(ts.path("seconds").asLong(), ts.path("microseconds").asLong() * 1000);
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
    String text = new String(line, 0, Math.min(line.length, EXCERPT), java.nio.charset.StandardCharsets.UTF_8);
    return line.length > EXCERPT ? text + "… (" + line.length + " bytes)" : text;
  }
}
