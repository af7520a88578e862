package io.qmpsidecar.sidecar.hotplug;

import java.util.Objects;

/**
 * What to detach.
 *
 * @param vm the VM
 * @param id the QEMU device id
 * @param restoreHostDriver after {@code DEVICE_DELETED}, bind the host function back to the
 *     driver it had before the attach
 * @param opId the caller's idempotency key, carried on every event; may be null
 */
public record DetachRequest(String vm, String id, boolean restoreHostDriver, String opId) {
  public DetachRequest {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(id, "id");
  }
}
