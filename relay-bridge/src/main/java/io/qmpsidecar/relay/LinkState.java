package io.qmpsidecar.relay;

/**
 * A change of the host's link to the DPU.
 *
 * @param status the new status
 * @param cause why the link is down or could not come up, or null
 */
public record LinkState(Status status, Throwable cause) {

  /** The link's life cycle. */
  public enum Status {
    /** Dialing, or waiting for the next attempt. */
    CONNECTING,
    /** The handshake succeeded; requests and notifications flow. */
    CONNECTED,
    /** The link dropped or an attempt failed; another attempt follows after a backoff. */
    DISCONNECTED,
    /** {@link RelayHost#close()} was called. */
    CLOSED
  }
}
