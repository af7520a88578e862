package io.qmpsidecar.qmp;

/**
 * A subscriber's handle. Events wait in a bounded queue; while paused (or while the listener
 * falls behind) the queue fills and further events are dropped and counted, never slowing QEMU
 * or other subscribers. Every method may be called from any thread.
 */
public interface QmpSubscription {
  /** Events dropped because this subscriber's queue was full, since it subscribed. */
  long dropped();

  /** Events handed to the listener, since it subscribed. */
  long delivered();

  /** Stops delivery; events queue up to the capacity, then are dropped. */
  void pause();

  /** Resumes delivery, starting with what queued while paused. */
  void resume();

  /** Ends the subscription; queued events are discarded. */
  void cancel();
}
