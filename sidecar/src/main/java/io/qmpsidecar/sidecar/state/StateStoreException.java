package io.qmpsidecar.sidecar.state;

import io.qmpsidecar.sidecar.ops.OperationException;
import java.nio.file.Path;

/** The state store could not read or write its file. */
public class StateStoreException extends OperationException {
  private final Path path;

  public StateStoreException(Path path, String message, Throwable cause) {
    super(message, cause);
    this.path = path;
  }

  public Path path() {
    return path;
  }
}
