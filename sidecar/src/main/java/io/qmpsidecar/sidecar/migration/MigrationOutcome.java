package io.qmpsidecar.sidecar.migration;

/** How a migration ended, as far as QEMU is concerned. */
public enum MigrationOutcome {
  IN_PROGRESS,
  COMPLETED,
  FAILED,
  CANCELLED;

  static MigrationOutcome of(MigrationPhase phase) {
    return switch (phase) {
      case COMPLETED -> COMPLETED;
      case FAILED -> FAILED;
      case CANCELLED -> CANCELLED;
      default -> IN_PROGRESS;
    };
  }
}
