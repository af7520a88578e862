package io.qmpsidecar.sidecar.migration;

/** The root of every migration error. Each subclass carries the data a caller acts on. */
public class MigrationException extends RuntimeException {
  public MigrationException(String message) {
    super(message);
  }

  public MigrationException(String message, Throwable cause) {
    super(message, cause);
  }
}
