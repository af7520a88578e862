package io.qmpsidecar.qmp;

/**
 * The socket closed while the command was in flight or queued. QEMU may or may not have run
 * it: re-query the state that matters before retrying a command that changes something.
 */
public class QmpClosedException extends QmpConnectionException {
  public QmpClosedException(String message) {
    super(message);
  }
}
