package io.qmpsidecar.sidecar.migration;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * An immutable snapshot of one VM's migration, as one end sees it. A monitor replaces its
 * snapshot on every event and poll; readers may keep any snapshot.
 *
 * @param vm the VM's name in the sidecar's configuration
 * @param role which end this VM is
 * @param phase where the migration stands
 * @param qemuStatus QEMU's last {@code MIGRATION} status, e.g. {@code active}, or {@code none}
 * @param progress RAM figures of the latest {@code query-migrate} (source side)
 * @param phases each phase entered, in order, with QEMU's timestamps
 * @param passes each pre-copy pass, in order
 * @param stoppedAt when QEMU stopped the guest ({@code STOP}) during this migration, or null
 * @param resumedAt when the guest ran again ({@code RESUME}) after the stop, or null
 * @param downtimeMs QEMU's measured downtime once completed, else -1
 * @param totalTimeMs QEMU's total time once ended, else -1
 * @param setupTimeMs QEMU's setup time, or -1
 * @param outcome how it ended, or {@link MigrationOutcome#IN_PROGRESS}
 * @param errorText QEMU's {@code error-desc} of a failed migration, or null
 * @param stalled true once the remaining RAM stopped shrinking over the configured passes
 */
public record MigrationRecord(
    String vm, MigrationRole role, MigrationPhase phase, String qemuStatus,
    MigrationProgress progress, List<PhaseTiming> phases, List<PassTiming> passes,
    Instant stoppedAt, Instant resumedAt, long downtimeMs, long totalTimeMs, long setupTimeMs,
    MigrationOutcome outcome, String errorText, boolean stalled) {

  public MigrationRecord {
    phases = List.copyOf(phases);
    passes = List.copyOf(passes);
  }

  /** The record of a VM on which no migration ran yet. */
  public static MigrationRecord none(String vm, MigrationRole role) {
    return new MigrationRecord(vm, role, MigrationPhase.NONE, "none", MigrationProgress.UNKNOWN,
        List.of(), List.of(), null, null, -1, -1, -1, MigrationOutcome.IN_PROGRESS, null, false);
  }

  /** The timing of the latest entry into {@code phase}, or null if it never was entered. */
  public PhaseTiming timing(MigrationPhase phase) {
    for (int i = phases.size() - 1; i >= 0; i--) {
      if (phases.get(i).phase() == phase) {
        return phases.get(i);
      }
    }
    return null;
  }

  MigrationRecord enter(MigrationPhase next, String status, Instant at) {
    List<PhaseTiming> list = new ArrayList<>(phases);
    if (!list.isEmpty() && list.get(list.size() - 1).end() == null) {
      list.set(list.size() - 1, list.get(list.size() - 1).endAt(at));
    }
    list.add(next.isTerminal() ? new PhaseTiming(next, at, at) : new PhaseTiming(next, at, null));
    return new MigrationRecord(vm, role, next, status, progress, list, passes, stoppedAt, resumedAt,
        downtimeMs, totalTimeMs, setupTimeMs, MigrationOutcome.of(next), errorText, stalled);
  }

  MigrationRecord withPass(PassTiming pass) {
    List<PassTiming> list = new ArrayList<>(passes);
    list.add(pass);
    return new MigrationRecord(vm, role, phase, qemuStatus, progress, phases, list, stoppedAt,
        resumedAt, downtimeMs, totalTimeMs, setupTimeMs, outcome, errorText, stalled);
  }

  MigrationRecord withProgress(MigrationProgress p, long downtime, long total, long setup, String error) {
    return new MigrationRecord(vm, role, phase, qemuStatus, p, phases, passes, stoppedAt, resumedAt,
        downtime, total, setup, outcome, error != null ? error : errorText, stalled);
  }

  MigrationRecord withRunState(Instant stopped, Instant resumed) {
    return new MigrationRecord(vm, role, phase, qemuStatus, progress, phases, passes, stopped,
        resumed, downtimeMs, totalTimeMs, setupTimeMs, outcome, errorText, stalled);
  }

  MigrationRecord withStalled() {
    return new MigrationRecord(vm, role, phase, qemuStatus, progress, phases, passes, stoppedAt,
        resumedAt, downtimeMs, totalTimeMs, setupTimeMs, outcome, errorText, true);
  }
}
