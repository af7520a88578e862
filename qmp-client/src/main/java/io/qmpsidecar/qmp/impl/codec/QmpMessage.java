package io.qmpsidecar.qmp.impl.codec;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpGreeting;

/** One line from QEMU, classified. */
public sealed interface QmpMessage {

  /** The greeting sent once when a client connects. */
  record Greeting(QmpGreeting greeting) implements QmpMessage {}

  /** A successful reply; {@code id} is null when QEMU sent none. */
  record Return(JsonNode id, JsonNode value) implements QmpMessage {}

  /** An error reply; {@code id} is null when QEMU could not tell which command it answers. */
  record Error(JsonNode id, String errorClass, String description) implements QmpMessage {}

  /** An asynchronous event. */
  record Event(QmpEvent event) implements QmpMessage {}
}
