package io.qmpsidecar.sidecar.migration;

/** The states of a {@link MigrationCoordinator} run, in the order a successful run takes them. */
public enum CoordinationState {
  PREFLIGHT,
  PREPARING,
  DETACHING,
  MIGRATING,
  FINISHING,
  COMPLETED,
  /** QEMU failed or cancelled the migration (or a step before it failed): undoing. */
  ROLLING_BACK,
  /** The source VM runs with its functions attached again. */
  ROLLED_BACK,
  /** The rollback itself failed; the detail says in what state the VM was left. */
  ROLLBACK_FAILED,
  /** Refused before anything changed. */
  REFUSED
}
