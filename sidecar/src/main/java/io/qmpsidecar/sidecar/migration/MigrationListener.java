package io.qmpsidecar.sidecar.migration;

/**
 * Receives every {@link MigrationEvent}. Called on event loops (of either end's connection), so it
 * must not block and must be thread-safe; the sidecar wires it to the in-process event stream,
 * which the relay's {@code DpuForwarder} turns into notifications.
 */
@FunctionalInterface
public interface MigrationListener {
  void onEvent(MigrationEvent event);

  MigrationListener NONE = e -> {};
}
