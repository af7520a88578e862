package io.qmpsidecar.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Instant;

/**
 * An asynchronous event from QEMU. {@code data} is the event's {@code data} object (an empty
 * object when QEMU sent none); {@code timestamp} is QEMU's own clock at emission.
 */
public record QmpEvent(String name, JsonNode data, Instant timestamp) {

  public QmpEvent {
    data = data == null ? JsonNodeFactory.instance.objectNode() : data;
  }

  /** A text field of {@code data}, or null when absent. */
  public String text(String field) {
    JsonNode value = data.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }
}
