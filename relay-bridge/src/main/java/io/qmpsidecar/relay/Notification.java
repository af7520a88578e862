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

  public static Notification opAccepted(String opId) {
    return new Notification(RelayMethods.OP_ACCEPTED, Map.of("opId", opId));
  }

  public static Notification opProgress(String opId, String stage) {
    return new Notification(RelayMethods.OP_PROGRESS, Map.of("opId", opId, "stage", stage));
  }

  public static Notification opCompleted(String opId, Map<String, Object> result) {
    return new Notification(RelayMethods.OP_COMPLETED, Map.of("opId", opId, "result", result));
  }

  public static Notification opFailed(String opId, RelayError error) {
    return new Notification(RelayMethods.OP_FAILED, Map.of("opId", opId, "error", Map.of(
        "code", error.code().wireCode(), "message", error.message(), "data", error.data())));
  }

  /** {@code device} is null when QEMU reported only the QOM path. */
  public static Notification deviceDeleted(String vm, String device, String path) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("vm", vm);
    p.put("device", device);
    p.put("path", path);
    return new Notification(RelayMethods.DEVICE_DELETED, p);
  }

  public static Notification migrationStatus(String vm, String status) {
    return new Notification(RelayMethods.MIGRATION_STATUS, Map.of("vm", vm, "status", status));
  }

  public static Notification vfioState(String vm, String device, String state) {
    return new Notification(RelayMethods.VFIO_STATE, Map.of("vm", vm, "device", device, "state", state));
  }

  /** {@code event} is {@code unplugPrimary} or {@code negotiated}; the method becomes {@code failover.<event>}. */
  public static Notification failover(String event, String vm, String device) {
    return new Notification(RelayMethods.FAILOVER_PREFIX + event, Map.of("vm", vm, "device", device));
  }

  public static Notification vmLifecycle(String vm, String event) {
    return new Notification(RelayMethods.VM_LIFECYCLE, Map.of("vm", vm, "event", event));
  }
}
