package io.qmpsidecar.sidecar.migration;

/**
 * Where a migration stands, folded from QEMU's {@code MIGRATION} statuses. Several QEMU statuses
 * map to one phase ({@code pre-switchover} and {@code device} are both {@link #SWITCHOVER});
 * {@link MigrationRecord#qemuStatus()} keeps QEMU's own word.
 */
public enum MigrationPhase {
  /** No migration has run on this VM since the monitor started. */
  NONE,
  /** QEMU {@code setup}: connection and capabilities negotiated, nothing sent yet. */
  SETUP,
  /** QEMU {@code active}: pre-copy passes while the guest runs. */
  PRECOPY,
  /** QEMU {@code wait-unplug}: waiting for failover primaries to be unplugged by the guest. */
  WAIT_UNPLUG,
  /** QEMU {@code pre-switchover} or {@code device}: the guest is stopped; the last state is sent. */
  SWITCHOVER,
  /** QEMU {@code postcopy-*}: the guest runs on the destination and pulls missing pages. */
  POSTCOPY,
  /** QEMU {@code cancelling}. */
  CANCELLING,
  COMPLETED,
  FAILED,
  CANCELLED;

  /** The phase of a QEMU migration status; unknown statuses of newer QEMUs count as {@link #PRECOPY}. */
  public static MigrationPhase of(String qemuStatus) {
    if (qemuStatus == null) {
      return NONE;
    }
    if (qemuStatus.startsWith("postcopy")) {
      return POSTCOPY;
    }
    return switch (qemuStatus) {
      case "none" -> NONE;
      case "setup" -> SETUP;
      case "wait-unplug" -> WAIT_UNPLUG;
      case "pre-switchover", "device" -> SWITCHOVER;
      case "cancelling" -> CANCELLING;
      case "completed" -> COMPLETED;
      case "failed" -> FAILED;
      case "cancelled" -> CANCELLED;
      default -> PRECOPY;
    };
  }

  /** True for {@link #COMPLETED}, {@link #FAILED} and {@link #CANCELLED}: QEMU will not move on by itself. */
  public boolean isTerminal() {
    return this == COMPLETED || this == FAILED || this == CANCELLED;
  }
}
