package io.qmpsidecar.sidecar.ops;

/** QEMU accepted {@code device_add} but the device did not show up as realized; it was removed. */
public class VerificationException extends OperationException {
  public VerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
