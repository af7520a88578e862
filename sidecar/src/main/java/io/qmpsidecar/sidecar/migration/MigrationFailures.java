package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import java.util.List;
import java.util.Locale;

/** How a migration is refused or fails, in the daemon's failure vocabulary. */
public final class MigrationFailures {
  private MigrationFailures() {}

  /** QEMU would refuse the migration now: {@code reasons} are its {@code blocked-reasons}, unchanged. */
  public static SidecarException blocked(String vm, List<String> reasons) {
    return SidecarException.of(Kind.MIGRATION_BLOCKED, "migration-blocked", "QEMU blocks the migration of " + vm
            + ": " + String.join("; ", reasons))
        .vm(vm).detail("vm", vm).detail("reasons", List.copyOf(reasons))
        .fix("remove the device named in the reason, or detach it with strategy unplug-replug").build();
  }

  /**
   * The sidecar refuses the migration before anything changed.
   *
   * @param devices the functions that caused the refusal; empty when the request itself was refused
   */
  public static SidecarException refused(String vm, List<String> devices, String why) {
    return SidecarException.of(Kind.CONFLICT, "migration-refused", "migration of " + vm + " refused: " + why)
        .vm(vm).detail("devices", List.copyOf(devices)).build();
  }

  /** A step of the migration failed; {@code message} says which and what to do. */
  public static SidecarException failed(String vm, String message, Throwable cause) {
    return SidecarException.of(Kind.FAILED, "migration-failed", message).vm(vm).cause(cause).build();
  }

  /**
   * The migration did not complete and was rolled back: the source runs with its functions
   * attached again. The details carry {@code outcome} ({@code failed} or {@code cancelled}) and
   * QEMU's {@code qemuError} when it gave one.
   */
  static SidecarException rolledBack(String vm, MigrationOutcome outcome, MigrationRecord record, String message,
      Throwable cause) {
    return SidecarException.of(Kind.FAILED, "migration-failed", message).vm(vm).cause(cause)
        .detail("outcome", outcome.name().toLowerCase(Locale.ROOT)).detail("qemuError", record.errorText()).build();
  }

  /** Undoing a failed migration failed too: the details say what is left to do by hand. */
  static SidecarException rollbackFailed(String vm, String vmState, List<String> stillDetached, Throwable cause) {
    return SidecarException.of(Kind.FAILED, "migration-rollback-failed", "rollback of the migration of " + vm
            + " failed: VM is " + vmState + (stillDetached.isEmpty() ? "" : ", still detached: "
            + String.join(", ", stillDetached)) + " (" + cause.getMessage() + ")")
        .vm(vm).cause(cause).detail("vmState", vmState).detail("detachedDevices", List.copyOf(stillDetached))
        .fix("re-attach the functions and resume the VM by hand").build();
  }

  /** {@code future}, failing with {@link Failures#qemuRefused} instead of QEMU's bare error. */
  static <T> Future<T> qemu(String vm, Future<T> future) {
    return future.recover(e -> Future.failedFuture(e instanceof QmpCommandException q ? Failures.qemuRefused(vm, q) : e));
  }
}
