package io.qmpsidecar.relay;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A host-to-DPU notification before it gets its sequence number. Params must be JSON-serialisable
 * (maps, lists, strings, numbers, booleans, records) and must not use the reserved key {@code seq}.
 *
 * @param method the notification method, e.g. {@code op.completed}
 * @param params the notification's members
 */
public record Notification(String method, Map<String, Object> params) {

  /** Key the host adds to every notification's params. */
  public static final String SEQ = "seq";

  public Notification {
    if (method == null || method.isBlank()) {
      throw new IllegalArgumentException("notification method is blank; use one of RelayMethods");
    }
    Objects.requireNonNull(params, "params");
    if (params.containsKey(SEQ)) {
      throw new IllegalArgumentException("notification params must not contain \"seq\": the host assigns it");
    }
    params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
  }

  /** A stage of a running operation (see {@link OpStage} for which and in which order). */
  public static Notification opProgress(String opId, OpStage stage) {
    return new Notification(RelayMethods.OP_PROGRESS, ordered("opId", opId, "stage", stage.wireName()));
  }

  /**
   * The operation succeeded; its end, sent once. For {@link OpOutcome#DETACHED}, notify the
   * {@link #deviceDeleted} of the device first: notifications are numbered in the order of
   * {@link RelayHost#notify} calls made from one thread.
   */
  public static Notification opCompleted(String opId, OpResult result) {
    return new Notification(RelayMethods.OP_COMPLETED, ordered("opId", opId, "result", result.toParams()));
  }

  /** The operation failed; its end, sent once. The error keeps its code, message and data. */
  public static Notification opFailed(String opId, RelayError error) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("code", error.code().wireCode());
    e.put("message", error.message());
    if (!error.data().isEmpty()) {
      e.put("data", error.data());
    }
    return new Notification(RelayMethods.OP_FAILED, ordered("opId", opId, "error", e));
  }

  /**
   * QEMU's {@code DEVICE_DELETED} of a device in the DPU's scope, whoever caused it. {@code device}
   * is null when QEMU reported only the QOM path.
   */
  public static Notification deviceDeleted(String vm, String device, String path) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("vm", vm);
    p.put("device", device);
    p.put("path", path);
    return new Notification(RelayMethods.DEVICE_DELETED, p);
  }

  public static Notification migrationStatus(String vm, String status) {
    return new Notification(RelayMethods.MIGRATION_STATUS, ordered("vm", vm, "status", status));
  }

  public static Notification vfioState(String vm, String device, String state) {
    Map<String, Object> p = ordered("vm", vm, "device", device);
    p.put("state", state);
    return new Notification(RelayMethods.VFIO_STATE, p);
  }

  /** {@code event} is {@code unplugPrimary} or {@code negotiated}; the method becomes {@code failover.<event>}. */
  public static Notification failover(String event, String vm, String device) {
    return new Notification(RelayMethods.FAILOVER_PREFIX + event, ordered("vm", vm, "device", device));
  }

  public static Notification vmLifecycle(String vm, String event) {
    return new Notification(RelayMethods.VM_LIFECYCLE, ordered("vm", vm, "event", event));
  }

  /** Two members in this order, so that logs and the wire read the same way every time. */
  private static Map<String, Object> ordered(String k1, Object v1, String k2, Object v2) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put(k1, v1);
    p.put(k2, v2);
    return p;
  }
}
