package io.qmpsidecar.relay;

/** How a successful operation ended: the {@code outcome} member of {@code op.completed}. */
public enum OpOutcome {
  /** device.attach: the device is in the VM, realized and verified. */
  ATTACHED("attached", RelayMethods.DEVICE_ATTACH),
  /**
   * device.detach: QEMU reported {@code DEVICE_DELETED}; the {@code device.deleted} notification
   * for it came just before. The function may be destroyed on the DPU.
   */
  DETACHED("detached", RelayMethods.DEVICE_DETACH),
  /**
   * device.detach: the device was already gone from QEMU when the host got to it (removed
   * meanwhile, or while the host was down); no {@code device.deleted} comes from this operation.
   * The function may be destroyed on the DPU.
   */
  ALREADY_DETACHED("already-detached", RelayMethods.DEVICE_DETACH);

  private final String wireName;
  private final String method;

  OpOutcome(String wireName, String method) {
    this.wireName = wireName;
    this.method = method;
  }

  /** The {@code outcome} member on the wire. */
  public String wireName() {
    return wireName;
  }

  /** The request method whose operations end with this outcome. */
  public String method() {
    return method;
  }
}
