package io.qmpsidecar.sidecar.events;

/**
 * A subscriber's handle. Events wait in a bounded queue; when it is full further events are
 * dropped and counted, never slowing the publisher or other subscribers. Thread-safe.
 */
public interface EventSubscription {
  /** Events dropped because the queue was full, since subscribing. */
  long dropped();

  /** Events handed to the listener, since subscribing. */
  long delivered();

  /** Ends the subscription; queued events are discarded. */
  void cancel();
}
