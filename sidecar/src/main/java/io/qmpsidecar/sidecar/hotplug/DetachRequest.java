package io.qmpsidecar.sidecar.hotplug;

import java.util.Objects;

/**
 * What to detach.
 *
 * @param vm the VM
 * @param id the QEMU device id
 * @param restoreHostDriver after {@code DEVICE_DELETED}, bind the host function back to the
 *     driver it had before the attach
 * @param opId the operation's id, carried on every event and log line; null has the operations
 *     layer assign one
 */
public record DetachRequest(String vm, String id, boolean restoreHostDriver, String opId) {
  public DetachRequest {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(id, "id");
  }

  /** The same request with {@code opId} as its operation id. */
  public DetachRequest withOpId(String opId) {
    return new DetachRequest(vm, id, restoreHostDriver, opId);
  }
}
