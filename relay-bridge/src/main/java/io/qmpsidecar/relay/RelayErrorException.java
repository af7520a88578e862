package io.qmpsidecar.relay;

import java.util.Objects;

/**
 * A JSON-RPC error: either the peer answered a request with it, or an executor fails its future
 * with it to choose the error the DPU receives (for example {@link RelayError#qemuError}).
 */
public class RelayErrorException extends RelayException {

  private final RelayError error;

  public RelayErrorException(RelayError error) {
    super(error.code() + ": " + error.message());
    this.error = Objects.requireNonNull(error, "error");
  }

  /** The error as carried on the wire: code, message and data. */
  public RelayError error() {
    return error;
  }
}
