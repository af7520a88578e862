package io.qmpsidecar.relay;

/**
 * The stages an operation reports with {@code op.progress}: a closed list. A host sends each at
 * most once, in this order, for its own method only, and never after the operation's end; it may
 * leave any out. They inform; only {@code op.completed} and {@code op.failed} end an operation.
 */
public enum OpStage {
  /** device.attach: the function is bound to its VFIO driver and /dev/vfio is ready. */
  HOST_PREPARED("host-prepared", RelayMethods.DEVICE_ATTACH),
  /** device.attach: QEMU accepted device_add; the attach is being verified. */
  DEVICE_ADDED("device-added", RelayMethods.DEVICE_ATTACH),
  /** device.detach: QEMU accepted device_del; the guest is asked to release the device. */
  UNPLUG_REQUESTED("unplug-requested", RelayMethods.DEVICE_DETACH),
  /**
   * device.detach: the guest has not released the device within the host's wait; the host keeps
   * watching, and the end follows when the guest releases it or the watch expires.
   */
  PENDING("pending", RelayMethods.DEVICE_DETACH);

  private final String wireName;
  private final String method;

  OpStage(String wireName, String method) {
    this.wireName = wireName;
    this.method = method;
  }

  /** The {@code stage} member on the wire. */
  public String wireName() {
    return wireName;
  }

  /** The request method whose operations report this stage. */
  public String method() {
    return method;
  }
}
