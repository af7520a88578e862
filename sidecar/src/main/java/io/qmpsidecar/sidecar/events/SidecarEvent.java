package io.qmpsidecar.sidecar.events;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Objects;

/**
 * One state change of the sidecar, as every entry point (relay, HTTP API, CLI) carries it.
 * Immutable; {@link #data()} of a QEMU event (with its {@code qemuTimestamp}) is made on first
 * use, so that events nobody reads in detail (counted, filtered by type, dropped) cost no copy.
 */
public final class SidecarEvent {
  private final long id;
  private final Instant time;
  private final String vm;
  private final String type;
  private final String opId;
  private final JsonNode source;
  private final Instant qemuTimestamp;
  private volatile JsonNode data;

  /**
   * @param id unique and increasing across the daemon's runs ({@link EventEpoch}); the resume
   *     point of {@link EventStream#since(long)}
   * @param time when the sidecar published it
   * @param vm the VM it concerns
   * @param type what happened, e.g. {@code attach.verified}; see {@link EventTypes}
   * @param opId the operation it belongs to, or null
   * @param data details of the change; callers must not modify it
   */
  public SidecarEvent(long id, Instant time, String vm, String type, String opId, JsonNode data) {
    this(id, time, vm, type, opId, data, null);
  }

  /**
   * A QEMU event: {@link #data()} is QEMU's {@code data} members and {@code qemuTimestamp}, QEMU's
   * own time of it (when {@code qemuTimestamp} is not null).
   */
  SidecarEvent(long id, Instant time, String vm, String type, String opId, JsonNode data, Instant qemuTimestamp) {
    this.id = id;
    this.time = Objects.requireNonNull(time, "time");
    this.vm = Objects.requireNonNull(vm, "vm");
    this.type = Objects.requireNonNull(type, "type");
    this.opId = opId;
    this.source = data == null ? JsonNodeFactory.instance.objectNode() : data;
    this.qemuTimestamp = qemuTimestamp;
    this.data = qemuTimestamp == null ? source : null;
  }

  public long id() {
    return id;
  }

  public Instant time() {
    return time;
  }

  public String vm() {
    return vm;
  }

  public String type() {
    return type;
  }

  public String opId() {
    return opId;
  }

  /** Details of the change; callers must not modify it. */
  public JsonNode data() {
    JsonNode d = data;
    if (d == null) {
      // QEMU's members are shared, never changed, by every reader: a shallow copy is enough.
      int members = source.size() + 1;
      ObjectNode merged = new ObjectNode(JsonNodeFactory.instance, new LinkedHashMap<>(members + members / 3 + 1));
      if (source.isObject()) {
        merged.setAll((ObjectNode) source);
      }
      d = merged.put("qemuTimestamp", qemuTimestamp.toString());
      data = d;
    }
    return d;
  }

  /**
   * The event as every consumer gets it (a line of the API's stream, a hook's input):
   * {@code {id, time, vm, type, opId?, data}}.
   */
  public ObjectNode toJson() {
    ObjectNode body = JsonNodeFactory.instance.objectNode().put("id", id).put("time", time.toString()).put("vm", vm)
        .put("type", type);
    if (opId != null) {
      body.put("opId", opId);
    }
    body.set("data", data());
    return body;
  }

  /** A text field of {@link #data()}, or null when absent. */
  public String text(String field) {
    JsonNode value = field.equals("qemuTimestamp") ? data().get(field) : source.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  @Override
  public String toString() {
    return "SidecarEvent[id=" + id + ", time=" + time + ", vm=" + vm + ", type=" + type + ", opId=" + opId
        + ", data=" + data() + "]";
  }
}
