package io.qmpsidecar.sidecar.state;


/** Where a stored attachment is in its life. */
public enum AttachmentState {
  /** Added and verified; wanted in the VM. */
  ATTACHED,
  /** {@code device_del} was requested; waiting for {@code DEVICE_DELETED}. */
  DETACHING
}
