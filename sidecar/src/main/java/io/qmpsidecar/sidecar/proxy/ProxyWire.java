package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpGreeting;
import io.vertx.core.buffer.Buffer;
import java.time.Instant;
import java.util.List;

/**
 * Writes what the proxy sends to its clients as QEMU writes it: one JSON object per line,
 * ending in CRLF, with the client's {@code id} copied back as the JSON value it sent.
 */
final class ProxyWire {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ProxyWire() {}

  /** The greeting, with QEMU's version and package and the capabilities the proxy offers. */
  static Buffer greeting(QmpGreeting greeting, List<String> capabilities) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode qmp = root.putObject("QMP");
    ObjectNode version = qmp.putObject("version");
    version.putObject("qemu")
        .put("micro", greeting.version().micro())
        .put("minor", greeting.version().minor())
        .put("major", greeting.version().major());
    version.put("package", greeting.version().pkg());
    capabilities.forEach(qmp.putArray("capabilities")::add);
    return line(root);
  }

  static Buffer success(JsonNode value, JsonNode id) {
    ObjectNode root = JSON.createObjectNode();
    root.set("return", value == null ? JSON.createObjectNode() : value);
    return withId(root, id);
  }

  static Buffer error(QmpError error, JsonNode id) {
    ObjectNode root = JSON.createObjectNode();
    root.putObject("error").put("class", error.errorClass()).put("desc", error.desc());
    return withId(root, id);
  }

  /** An event; {@code data} is left out when empty, as QEMU does for events such as STOP. */
  static Buffer event(QmpEvent event) {
    ObjectNode root = JSON.createObjectNode();
    Instant ts = event.timestamp();
    root.putObject("timestamp").put("seconds", ts.getEpochSecond())
        .put("microseconds", ts.getNano() / 1000);
    root.put("event", event.name());
    if (!event.data().isEmpty()) {
      root.set("data", event.data());
    }
    return line(root);
  }

  private static Buffer withId(ObjectNode root, JsonNode id) {
    if (id != null) {
      root.set("id", id);
    }
    return line(root);
  }

  private static Buffer line(ObjectNode root) {
    try {
      return Buffer.buffer(JSON.writeValueAsBytes(root)).appendString("\r\n");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode a QMP line for a proxy client", e);
    }
  }
}
