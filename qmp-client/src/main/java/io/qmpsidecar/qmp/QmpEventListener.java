package io.qmpsidecar.qmp;

/**
 * Receives events of one subscription, in QEMU's order, on the connection's event loop: it must
 * not block. Gaps are reported in line with the events, where they happened.
 */
@FunctionalInterface
public interface QmpEventListener {
  void onEvent(QmpEvent event);

  /** Events may have been missed at this point of the stream. Default: ignore. */
  default void onGap(EventGap gap) {}
}
