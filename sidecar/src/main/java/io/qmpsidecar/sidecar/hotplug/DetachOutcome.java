package io.qmpsidecar.sidecar.hotplug;

/** How a detach ended within its wait. */
public enum DetachOutcome {
  /** QEMU emitted {@code DEVICE_DELETED}: the device is gone and its function may be destroyed. */
  DETACHED,
  /**
   * QEMU accepted the request but the guest has not released the device yet. The sidecar keeps
   * watching and publishes {@code device.detached} (or {@code detach.pending-expired}) later.
   */
  PENDING,
  /** The guest refused ({@code DEVICE_UNPLUG_GUEST_ERROR}); the device stays attached. */
  REJECTED,
  /** The device was not in the VM: an idempotent detach counts this as success. */
  NOT_FOUND
}
