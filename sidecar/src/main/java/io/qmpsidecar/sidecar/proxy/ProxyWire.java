package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpGreeting;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes what the proxy sends to its clients byte for byte as QEMU writes it: one JSON object per
 * line ending in CRLF, in QEMU's format ({@link QemuJsonWriter}) and with QEMU's member order
 * ({@link QdictOrder}), e.g. {@code {"return": {}, "id": 1}} and
 * {@code {"id": 1, "error": {"class": "GenericError", "desc": "…"}}}. A client's {@code id}
 * comes back as QEMU echoes it: the value QEMU would have parsed, written as QEMU writes it.
 */
final class ProxyWire {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private ProxyWire() {}

  /** The greeting, with QEMU's version and package and the capabilities the proxy offers. */
  static Buffer greeting(QmpGreeting greeting, List<String> capabilities) {
    ObjectNode qemu = qdict("major", NODES.numberNode(greeting.version().major()),
        "minor", NODES.numberNode(greeting.version().minor()),
        "micro", NODES.numberNode(greeting.version().micro()));
    ObjectNode version = qdict("qemu", qemu, "package", NODES.textNode(greeting.version().pkg()));
    var offered = NODES.arrayNode();
    capabilities.forEach(offered::add);
    return line(qdict("QMP", qdict("version", version, "capabilities", offered)));
  }

  static Buffer success(JsonNode value, JsonNode id) {
    return line(withId("return", value == null ? NODES.objectNode() : value, id));
  }

  static Buffer error(QmpError error, JsonNode id) {
    ObjectNode body = qdict("class", NODES.textNode(error.errorClass()),
        "desc", NODES.textNode(error.desc()));
    return line(withId("error", body, id));
  }

  /** An event; {@code data} is left out when empty, as QEMU does for events such as STOP. */
  static Buffer event(QmpEvent event) {
    Instant ts = event.timestamp();
    ObjectNode timestamp = qdict("seconds", NODES.numberNode(ts.getEpochSecond()),
        "microseconds", NODES.numberNode(ts.getNano() / 1000));
    return line(event.data().isEmpty()
        ? qdict("event", NODES.textNode(event.name()), "timestamp", timestamp)
        : qdict("event", NODES.textNode(event.name()), "timestamp", timestamp,
            "data", event.data()));
  }

  private static ObjectNode withId(String key, JsonNode value, JsonNode id) {
    return id == null ? qdict(key, value) : qdict(key, value, "id", id);
  }

  /** An object of the given members (name, value, name, value, …, in the order QEMU adds them). */
  private static ObjectNode qdict(Object... members) {
    Map<String, JsonNode> added = new LinkedHashMap<>();
    for (int i = 0; i < members.length; i += 2) {
      added.put((String) members[i], (JsonNode) members[i + 1]);
    }
    ObjectNode object = NODES.objectNode();
    QdictOrder.of(new ArrayList<>(added.keySet())).forEach(k -> object.set(k, added.get(k)));
    return object;
  }

  private static Buffer line(ObjectNode root) {
    String text = QemuJsonWriter.write(root) + "\r\n";
    return Buffer.buffer(text.getBytes(StandardCharsets.US_ASCII));
  }
}
