package io.qmpsidecar.relay;

/** Root of every error the relay bridge reports; unchecked, like the rest of the project's roots. */
public class RelayException extends RuntimeException {

  public RelayException(String message) {
    super(message);
  }

  public RelayException(String message, Throwable cause) {
    super(message, cause);
  }
}
