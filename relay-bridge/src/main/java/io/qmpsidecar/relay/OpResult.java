package io.qmpsidecar.relay;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The {@code result} of {@code op.completed}: {@code vm}, {@code deviceId}, {@code outcome}, and
 * the details an outcome documents (for {@link OpOutcome#ATTACHED}: {@code bdf}, and when known
 * {@code rootPort}, {@code guestAddress}, {@code migrationBlockedReasons}).
 *
 * @param vm the VM
 * @param deviceId the QEMU device id (the one the host chose when the DPU gave none)
 * @param outcome how it ended
 * @param details further members; must not reuse {@code vm}, {@code deviceId}, {@code outcome}
 */
public record OpResult(String vm, String deviceId, OpOutcome outcome, Map<String, Object> details) {

  private static final Set<String> RESERVED = Set.of("vm", "deviceId", "outcome");

  public OpResult {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(outcome, "outcome");
    details = details == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(details));
    for (String key : details.keySet()) {
      if (RESERVED.contains(key)) {
        throw new IllegalArgumentException("op.completed detail \"" + key + "\" would overwrite the member of"
            + " that name; put it in vm/deviceId/outcome instead");
      }
    }
  }

  /** An attach that succeeded; {@code details} as documented for it (bdf, rootPort, ...). */
  public static OpResult attached(String vm, String deviceId, Map<String, Object> details) {
    return new OpResult(vm, deviceId, OpOutcome.ATTACHED, details);
  }

  /** A detach that QEMU confirmed with DEVICE_DELETED (device.deleted was sent just before). */
  public static OpResult detached(String vm, String deviceId) {
    return new OpResult(vm, deviceId, OpOutcome.DETACHED, Map.of());
  }

  /** A detach of a device that was already gone from QEMU. */
  public static OpResult alreadyDetached(String vm, String deviceId) {
    return new OpResult(vm, deviceId, OpOutcome.ALREADY_DETACHED, Map.of());
  }

  /** The {@code result} object as sent. */
  public Map<String, Object> toParams() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("vm", vm);
    p.put("deviceId", deviceId);
    p.put("outcome", outcome.wireName());
    p.putAll(details);
    return p;
  }
}
