package io.qmpsidecar.qmp;

/** Where a connection is in its life. Transitions are reported to state listeners in order. */
public enum QmpState {
  /** Opening the socket. */
  CONNECTING,
  /** Socket open; waiting for the greeting or for {@code qmp_capabilities} to be answered. */
  NEGOTIATING,
  /** Commands may be sent. */
  READY,
  /** The socket is gone; commands fail at once. A reconnect may follow. */
  DISCONNECTED,
  /** Closed by the caller or out of reconnect attempts; final. */
  CLOSED
}
