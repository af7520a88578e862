package io.qmpsidecar.sidecar.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Instant;
import java.util.Objects;

/**
 * One state change of the sidecar, as every entry point (relay, HTTP API, CLI) carries it.
 *
 * @param id monotonic within one sidecar process, starting at 1; the resume point of
 *     {@link EventStream#since(long)}
 * @param time when the sidecar published it
 * @param vm the VM it concerns
 * @param type what happened, e.g. {@code attach.verified}; see {@link EventTypes}
 * @param opId the operation it belongs to (the caller's idempotency key), or null
 * @param data details of the change; callers must not modify it
 */
public record SidecarEvent(long id, Instant time, String vm, String type, String opId, JsonNode data) {

  public SidecarEvent {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(type, "type");
    data = data == null ? JsonNodeFactory.instance.objectNode() : data;
  }

  /** A text field of {@code data}, or null when absent. */
  public String text(String field) {
    JsonNode value = data.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }
}
