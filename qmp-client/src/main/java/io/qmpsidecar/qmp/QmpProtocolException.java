package io.qmpsidecar.qmp;

/**
 * QEMU (or whatever is on the socket) broke the QMP protocol: a line that is not JSON, a line
 * over the size limit, a message that is neither greeting, reply nor event. The connection is
 * reset when this happens.
 */
public class QmpProtocolException extends QmpException {
  public QmpProtocolException(String message) {
    super(message);
  }

  public QmpProtocolException(String message, Throwable cause) {
    super(message, cause);
  }
}
