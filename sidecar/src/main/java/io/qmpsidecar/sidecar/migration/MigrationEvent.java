package io.qmpsidecar.sidecar.migration;

/**
 * What the migration layer tells the DPU (over the relay) and the event stream. Every event
 * names the VM it concerns.
 */
public sealed interface MigrationEvent {

  String vm();

  /** QEMU's migration status changed (one per {@code MIGRATION} event, never per poll). */
  record StatusChanged(String vm, MigrationRecord record) implements MigrationEvent {}

  /** The remaining RAM stopped shrinking; the record carries the pass history. */
  record Stalled(String vm, MigrationRecord record) implements MigrationEvent {}

  /** The guest stopped ({@code STOP}) or ran again ({@code RESUME}) on one end. */
  record RunState(String vm, MigrationRole role, String event) implements MigrationEvent {}

  /**
   * A VFIO device's migration state: from QEMU's {@code VFIO_MIGRATION} event when
   * {@code derived} is false, else derived by the sidecar from the migration status (QEMU before
   * 9.1, or a device without {@code migration-events=on}).
   */
  record VfioState(String vm, String device, String state, boolean derived) implements MigrationEvent {}

  /** QEMU's {@code UNPLUG_PRIMARY} ({@code unplugPrimary}) or {@code FAILOVER_NEGOTIATED} ({@code negotiated}). */
  record Failover(String vm, String kind, String device) implements MigrationEvent {}

  /** The coordinated migration moved to another state. {@code detail} says why, or is empty. */
  record Coordination(String vm, CoordinationState state, String detail) implements MigrationEvent {}

  /**
   * One step of a function's strategy, e.g. {@code detaching}, {@code detached},
   * {@code destination-may-attach}, {@code reattached}; {@code reason} says why the function has
   * this strategy ({@link MigratingFunction#reason()}).
   */
  record FunctionStep(String vm, String device, Strategy strategy, String reason, String step, String detail)
      implements MigrationEvent {}
}
