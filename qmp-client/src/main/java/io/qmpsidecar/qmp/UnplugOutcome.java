package io.qmpsidecar.qmp;

/** How a {@code device_del} ended within the caller's wait. */
public enum UnplugOutcome {
  /** QEMU emitted {@code DEVICE_DELETED} for the device: it is gone. */
  DELETED,
  /**
   * QEMU accepted the request but the guest has not released the device yet. Not a failure:
   * the removal may still complete (on q35 PCIe a missing {@code DEVICE_DELETED} is the only sign
   * that a guest refuses); re-check with {@code qom-list} or keep watching for the event.
   */
  PENDING
}
