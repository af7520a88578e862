package io.qmpsidecar.relay;

/** The link is not up, was closed while a request waited, or could not be established. */
public class RelayConnectionException extends RelayException {

  public RelayConnectionException(String message) {
    super(message);
  }

  public RelayConnectionException(String message, Throwable cause) {
    super(message, cause);
  }
}
