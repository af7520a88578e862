package io.qmpsidecar.qmp;

/** Why a subscriber may have missed events. Either way: re-query the state it cares about. */
public enum EventGap {
  /** The connection to QEMU was lost and re-established; events in between were never seen. */
  RECONNECTED,
  /** This subscriber's queue was full and events were dropped; {@link QmpSubscription#dropped()} counts them. */
  DROPPED
}
