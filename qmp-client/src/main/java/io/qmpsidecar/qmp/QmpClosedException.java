package io.qmpsidecar.qmp;

/**
 * The socket closed while the command was in flight or queued. QEMU may or may not have run a
 * command in flight: re-query the state that matters before retrying one that changes something.
 * A queued command was never sent (its message says so).
 */
public class QmpClosedException extends QmpConnectionException {
  public QmpClosedException(String message) {
    super(message);
  }

  public QmpClosedException(String message, Throwable cause) {
    super(message, cause);
  }
}
