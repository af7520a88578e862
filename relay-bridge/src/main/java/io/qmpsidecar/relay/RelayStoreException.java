package io.qmpsidecar.relay;

import java.nio.file.Path;

/** The durable store (outbox and opId outcomes) cannot be opened, is corrupt, or failed a write. */
public class RelayStoreException extends RelayException {

  private final Path path;

  public RelayStoreException(Path path, String message, Throwable cause) {
    super(message, cause);
    this.path = path;
  }

  /** The SQLite file concerned. */
  public Path path() {
    return path;
  }
}
