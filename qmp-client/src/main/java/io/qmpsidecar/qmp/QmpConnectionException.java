package io.qmpsidecar.qmp;

/**
 * The client could not reach QEMU or lost it: connect refused or timed out, no greeting, or a
 * command issued while the connection is not ready.
 */
public class QmpConnectionException extends QmpException {
  public QmpConnectionException(String message) {
    super(message);
  }

  public QmpConnectionException(String message, Throwable cause) {
    super(message, cause);
  }
}
