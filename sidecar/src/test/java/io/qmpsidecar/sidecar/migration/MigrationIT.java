package io.qmpsidecar.sidecar.migration;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.LongStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Coordinated migrations between two real QEMUs of the same version (qtest machines, SeaBIOS under TCG). */
class MigrationIT {
  /** Slow enough (~670 KB of non-zero RAM at 20 KB/s) that the migration is still active when the test acts. */
  static final MigrationParameters SLOW = new MigrationParameters(20_000, -1);
  @RegisterExtension static final MigrationRig RIG = new MigrationRig();

  @TempDir Path dir;

  private TwoQemus start(QemuBinary binary, String... extra) {
    return RIG.start(binary, dir, MigrationRig.fastPolling(), List.of(extra));
  }

  /** Waits until the source is in pre-copy; fails at once, with the events, when the run ended first. */
  private void awaitPrecopy(CoordinatedMigration run) {
    Await.until("the source migrates", () -> {
      if (run.result().isComplete()) {
        throw new AssertionError("the run ended before pre-copy: " + run.result().cause() + "; events " + RIG.events().events());
      }
      return run.sourceRecord().phase() == MigrationPhase.PRECOPY;
    });
  }

  @QemuTest
  void completesWithTimelineAndPhaseTimingsOnBothSides(QemuBinary binary) {
    TwoQemus q = start(binary);

    MigrationResult done = result(RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri)).result());

    MigrationRecord src = done.source();
    assertThat(src.outcome()).isEqualTo(MigrationOutcome.COMPLETED);
    assertThat(src.phases()).extracting(PhaseTiming::phase)
        .startsWith(MigrationPhase.SETUP, MigrationPhase.PRECOPY).endsWith(MigrationPhase.COMPLETED);
    assertThat(src.phases()).allSatisfy(p -> assertThat(p.end()).isNotNull().isAfterOrEqualTo(p.start()));
    // QEMU 11.1 sends no MIGRATION_PASS for the bitmap sync at setup: its first is pass 2 (measured).
    long first = binary.major() >= 11 ? 2 : 1;
    List<Long> passes = src.passes().stream().map(PassTiming::pass).toList();
    assertThat(passes).isNotEmpty().isEqualTo(LongStream.range(first, first + passes.size()).boxed().toList());
    assertThat(src.stoppedAt()).isNotNull();
    assertThat(src.downtimeMs()).isGreaterThanOrEqualTo(0);
    assertThat(src.totalTimeMs()).isGreaterThanOrEqualTo(src.downtimeMs());
    assertThat(src.progress().totalBytes()).isGreaterThanOrEqualTo(64L * 1024 * 1024);
    assertThat(done.destination().outcome()).isEqualTo(MigrationOutcome.COMPLETED);
    assertThat(done.destination().resumedAt()).isNotNull();
    assertThat(done.observedDowntime()).isNotNull().isPositive();
    assertThat(RIG.events().statuses(MigrationRole.SOURCE)).startsWith("setup", "active").endsWith("completed");
    assertThat(RIG.events().statuses(MigrationRole.DESTINATION)).contains("active").endsWith("completed");
    assertThat(RIG.events().states()).containsExactly(CoordinationState.PREFLIGHT, CoordinationState.PREPARING,
        CoordinationState.DETACHING, CoordinationState.MIGRATING, CoordinationState.FINISHING, CoordinationState.COMPLETED);
    assertThat(result(q.destination.queryStatus()).status()).isEqualTo("running");
    assertThat(result(q.source.queryStatus()).status()).isEqualTo("postmigrate");
  }

  @QemuTest
  void cancelledMidwayRollsBackToARunningSource(QemuBinary binary) {
    TwoQemus q = start(binary);
    CoordinatedMigration run = RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri).withParameters(SLOW));
    awaitPrecopy(run);

    result(run.cancel());

    SidecarException e = (SidecarException) failure(run.result());
    assertThat(e.detail("outcome")).isEqualTo("cancelled");
    assertThat(run.sourceRecord().phases()).extracting(PhaseTiming::phase).endsWith(MigrationPhase.CANCELLED);
    assertThat(RIG.events().statuses(MigrationRole.SOURCE)).endsWith("cancelling", "cancelled");
    assertThat(RIG.events().states()).endsWith(CoordinationState.MIGRATING, CoordinationState.ROLLING_BACK,
        CoordinationState.ROLLED_BACK);
    assertThat(e.getMessage()).contains("vm1 is running on the source");
    assertThat(result(q.source.queryStatus()).status()).isEqualTo("running");
  }

  /**
   * A cancel that arrives while the sidecar is sending QEMU the migration's capabilities and
   * parameters, before {@code migrate} itself: its {@code migrate_cancel} reaches QEMU first and
   * does nothing, so the run must cancel again once {@code migrate} was accepted.
   */
  @QemuTest
  void aCancelWhileMigrateIsBeingSentIsNotLost(QemuBinary binary) {
    TwoQemus q = start(binary);
    AtomicReference<CoordinatedMigration> running = new AtomicReference<>();
    RIG.events().onEntering(CoordinationState.MIGRATING, () -> running.get().cancel());
    CoordinatedMigration run = RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri).withParameters(SLOW));
    running.set(run);

    SidecarException e = (SidecarException) failure(run.result());

    assertThat(e.detail("outcome")).isEqualTo("cancelled");
    assertThat(RIG.events().states()).endsWith(CoordinationState.MIGRATING, CoordinationState.ROLLING_BACK,
        CoordinationState.ROLLED_BACK);
    assertThat(result(q.source.queryStatus()).status()).isEqualTo("running");
  }
}
