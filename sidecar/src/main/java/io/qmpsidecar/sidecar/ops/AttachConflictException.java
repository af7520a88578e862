package io.qmpsidecar.sidecar.ops;

/** The device id or host function is already in use in a way that differs from the request. */
public class AttachConflictException extends OperationException {
  public AttachConflictException(String message) {
    super(message);
  }
}
