package io.qmpsidecar.qmp;

/** Root of every failure the QMP client reports. Unchecked; subclasses carry the details. */
public class QmpException extends RuntimeException {
  public QmpException(String message) {
    super(message);
  }

  public QmpException(String message, Throwable cause) {
    super(message, cause);
  }
}
