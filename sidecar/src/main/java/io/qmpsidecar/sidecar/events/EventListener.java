package io.qmpsidecar.sidecar.events;

/**
 * Receives the events of one subscription in publication order, on the subscriber's Vert.x
 * context: it must not block.
 */
@FunctionalInterface
public interface EventListener {
  void onEvent(SidecarEvent event);

  /**
   * Events were dropped at this point of the stream because the subscriber's queue was full
   * (reported before the next event that did fit); {@code count} is how many were dropped since
   * subscribing. Re-read what matters (e.g. {@link EventStream#since}). Default: ignore.
   */
  default void onDropped(long count) {}
}
