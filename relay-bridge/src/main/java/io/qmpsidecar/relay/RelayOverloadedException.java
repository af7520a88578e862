package io.qmpsidecar.relay;

/** A local bound was hit (pending notifications, pending requests); carries the bound. */
public class RelayOverloadedException extends RelayException {

  private final int limit;

  public RelayOverloadedException(String message, int limit) {
    super(message);
    this.limit = limit;
  }

  /** The bound that was reached. */
  public int limit() {
    return limit;
  }
}
