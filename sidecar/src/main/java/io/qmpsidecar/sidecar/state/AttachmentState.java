package io.qmpsidecar.sidecar.state;


/** Where a stored attachment is in its life. */
public enum AttachmentState {
  /**
   * The intent of an attach, stored before anything changes on the host or in QEMU; replaced by
   * {@link #ATTACHED} when the attach is verified, removed when it is undone. Found at a start or
   * a reconnect, it is an attach that never finished: adopted when QEMU has the device, else
   * abandoned (the host driver restored).
   */
  ATTACHING,
  /** Added and verified; wanted in the VM. */
  ATTACHED,
  /** {@code device_del} was requested; waiting for {@code DEVICE_DELETED}. */
  DETACHING
}
