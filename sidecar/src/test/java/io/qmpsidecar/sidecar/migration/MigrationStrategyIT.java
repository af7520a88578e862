package io.qmpsidecar.sidecar.migration;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Strategies, failures and blockers between two real QEMUs. An emulated PCIe NIC ({@code e1000e}
 * on root port {@code rp1}) stands in for a DPU function.
 */
class MigrationStrategyIT {
  private static final DeviceSpec NIC = new DeviceSpec("fn0", "e1000e", Map.of("bus", "rp1"));
  private static final String NIC_ARG = "e1000e,id=fn0,bus=rp1";
  @RegisterExtension static final MigrationRig RIG = new MigrationRig();

  @TempDir Path dir;

  private TwoQemus start(QemuBinary binary, MigrationMonitorOptions monitor, List<String> extra) {
    return RIG.start(binary, dir, monitor, extra);
  }

  private TwoQemus start(QemuBinary binary) {
    return start(binary, MigrationRig.fastPolling(), List.of());
  }

  @QemuTest
  void unplugReplugDetachesBeforeAndAttachesOnTheDestinationAfter(QemuBinary binary) {
    TwoQemus q = start(binary);
    QmpFunctionHotplug hotplug = q.hotplug(RIG.vertx());
    result(hotplug.attach("vm1", NIC));
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.UNPLUG_REPLUG, false);

    result(RIG.coordinator().start(q.sourceEndpoint(hotplug), q.destinationEndpoint(hotplug),
        MigrationRequest.to(q.uri).withFunctions(List.of(fn))).result());

    assertThat(RIG.events().steps("fn0")).containsExactly("detaching", "detached", "destination-may-attach",
        "attached-on-destination");
    assertThat(result(hotplug.isAttached("vm1-dst", "fn0"))).isTrue();
    assertThat(result(hotplug.isAttached("vm1", "fn0"))).isFalse();
    // The DPU hears that the function is detaching before the source starts migrating. (The
    // destination's own setup status, from migrate-incoming, may come earlier.)
    List<MigrationEvent> all = RIG.events().events();
    int detaching = indexOf(all, e -> e instanceof MigrationEvent.FunctionStep f && f.step().equals("detaching"));
    int sourceStatus = indexOf(all, e -> e instanceof MigrationEvent.StatusChanged st
        && st.record().role() == MigrationRole.SOURCE);
    assertThat(detaching).isNotNegative().isLessThan(sourceStatus);
    assertThat(RIG.events().relayMethods()).contains("migration.coordination", "vm.lifecycle");
  }

  @QemuTest
  void destinationKilledMidMigrationFailsAndReattachesOnTheSource(QemuBinary binary) {
    TwoQemus q = start(binary);
    QmpFunctionHotplug hotplug = q.hotplug(RIG.vertx());
    result(hotplug.attach("vm1", NIC));
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.UNPLUG_REPLUG, false);
    CoordinatedMigration run = RIG.coordinator().start(q.sourceEndpoint(hotplug), q.destinationEndpoint(hotplug),
        MigrationRequest.to(q.uri).withFunctions(List.of(fn)).withParameters(MigrationIT.SLOW));
    Await.until("the source migrates", () -> run.result().isComplete()
        || run.sourceRecord().phase() == MigrationPhase.PRECOPY);

    q.dst.kill();

    SidecarException e = (SidecarException) failure(run.result());
    assertThat(e.code()).isEqualTo("migration-failed");
    assertThat(e.detail("outcome")).isEqualTo("failed");
    assertThat((String) e.detail("qemuError")).isNotBlank();
    assertThat(e.getMessage()).contains((String) e.detail("qemuError")).contains("vm1 is running on the source");
    assertThat(RIG.events().steps("fn0")).containsExactly("detaching", "detached", "reattached");
    assertThat(RIG.events().states()).endsWith(CoordinationState.ROLLING_BACK, CoordinationState.ROLLED_BACK);
    assertThat(result(hotplug.isAttached("vm1", "fn0"))).isTrue();
    assertThat(result(q.source.queryStatus()).status()).isEqualTo("running");
  }

  @QemuTest
  void blockStrategyRefusesBeforeAnythingChanges(QemuBinary binary) {
    TwoQemus q = start(binary, MigrationMonitorOptions.defaults(), List.of("-device", NIC_ARG));
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.BLOCK, true);

    SidecarException e = (SidecarException) failure(RIG.coordinator().start(
        q.sourceEndpoint(null), q.destinationEndpoint(null), MigrationRequest.to(q.uri).withFunctions(List.of(fn))).result());

    assertThat(e.code()).isEqualTo("migration-refused");
    assertThat(e.detail("devices")).isEqualTo(List.of("fn0"));
    assertThat(e.getMessage()).contains("fn0 has migration strategy block");
    assertThat(RIG.events().states()).containsExactly(CoordinationState.PREFLIGHT, CoordinationState.REFUSED);
    assertThat(result(q.source.queryMigrate()).status()).isEqualTo("none");
  }

  @QemuTest
  void vfioMigrationStrategyTellsTheDpuEachDerivedDeviceState(QemuBinary binary) {
    TwoQemus q = start(binary, MigrationMonitorOptions.defaults(), List.of("-device", NIC_ARG));
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.VFIO_MIGRATION, true);

    result(RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri).withFunctions(List.of(fn))).result());

    assertThat(RIG.events().events()).filteredOn(ev -> ev instanceof MigrationEvent.VfioState)
        .extracting(ev -> ((MigrationEvent.VfioState) ev).vm() + ":" + ((MigrationEvent.VfioState) ev).state())
        .containsSubsequence("vm1:pre-copy", "vm1:stop-copy", "vm1:stop")
        .containsSubsequence("vm1-dst:resuming", "vm1-dst:running");
    assertThat(RIG.events().steps("fn0")).containsExactly("migrating-with-qemu");
  }

  @QemuTest
  void autoChoosesMigratingWithQemuForAFunctionQemuDoesNotBlockAndSaysWhy(QemuBinary binary) {
    TwoQemus q = start(binary, MigrationMonitorOptions.defaults(), List.of("-device", NIC_ARG));
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.AUTO, false);

    result(RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri).withFunctions(List.of(fn))).result());

    assertThat(RIG.events().steps("fn0")).containsExactly("strategy-chosen", "migrating-with-qemu");
    List<MigrationEvent.FunctionStep> steps = RIG.events().events().stream()
        .filter(e -> e instanceof MigrationEvent.FunctionStep).map(e -> (MigrationEvent.FunctionStep) e).toList();
    assertThat(steps).extracting(MigrationEvent.FunctionStep::strategy).containsOnly(Strategy.VFIO_MIGRATION);
    assertThat(PublishedMigrationEvent.of(steps.get(0)).data().path("reason").asText())
        .isEqualTo("QEMU reports no migration blocker for fn0: its state migrates with QEMU");
    assertThat(result(q.destination.queryStatus()).status()).isEqualTo("running");
  }

  @QemuTest
  void postcopyWithAVfioFunctionIsRefused(QemuBinary binary) {
    TwoQemus q = start(binary);
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.VFIO_MIGRATION, true);

    SidecarException e = (SidecarException) failure(RIG.coordinator().start(q.sourceEndpoint(null),
        null, MigrationRequest.to(q.uri).withFunctions(List.of(fn)).withCapabilities(Map.of("postcopy-ram", true))).result());

    assertThat(e.getMessage()).contains("postcopy is not possible with VFIO function fn0");
  }

  @QemuTest
  void blockerReportedByQemuSurfacesItsText(QemuBinary binary) {
    TwoQemus q = start(binary);
    result(q.source.execute("object-add", JsonNodeFactory.instance.objectNode().put("qom-type", "memory-backend-ram")
        .put("id", "shm0").put("size", 1024 * 1024).put("share", true)));
    result(q.source.deviceAdd(JsonNodeFactory.instance.objectNode().put("driver", "ivshmem-plain")
        .put("id", "shmdev").put("memdev", "shm0").put("bus", "rp2")));

    SidecarException e = (SidecarException) failure(RIG.coordinator().start(q.sourceEndpoint(null),
        q.destinationEndpoint(null), MigrationRequest.to(q.uri)).result());

    assertThat(e.code()).isEqualTo("migration-blocked");
    assertThat(e.detail("reasons"))
        .isEqualTo(List.of("Migration is disabled when using feature 'peer mode' in device 'ivshmem'"));
    assertThat(e.getMessage()).contains("QEMU blocks the migration of vm1: Migration is disabled");
  }

  @QemuTest
  void dirtyingGuestStallsUntilTheBandwidthIsRaised(QemuBinary binary) {
    assumeTrue(binary.major() < 10, "in qtest mode QEMU 10.0's SeaBIOS stops at AHCI probing (observed), "
        + "so the dirtying guest never runs there; it runs on QEMU 7.2");
    TwoQemus q = start(binary, MigrationMonitorOptions.defaults().withPollInterval(Duration.ofMillis(100))
        .withStallPasses(2), DirtyingGuest.qemuArgs(dir));
    CoordinatedMigration run = RIG.coordinator().start(q.sourceEndpoint(null), q.destinationEndpoint(null),
        MigrationRequest.to(q.uri).withParameters(new MigrationParameters(4_000_000, -1)));
    Await.until("the stall is reported", () -> run.result().isComplete() || run.sourceRecord().stalled());
    MigrationRecord stalled = run.sourceRecord();

    result(run.setParameters(new MigrationParameters(1_000_000_000L, -1)));
    MigrationResult done = result(run.result());

    assertThat(stalled.stalled()).isTrue();
    assertThat(stalled.passes()).hasSizeGreaterThanOrEqualTo(3);
    assertThat(stalled.progress().dirtyPagesRate()).isPositive();
    assertThat(RIG.events().events()).filteredOn(ev -> ev instanceof MigrationEvent.Stalled).hasSize(1);
    assertThat(done.source().outcome()).isEqualTo(MigrationOutcome.COMPLETED);
    assertThat(done.source().progress().transferredBytes()).isGreaterThan(8L * 1024 * 1024);
  }

  private static int indexOf(List<MigrationEvent> events, java.util.function.Predicate<MigrationEvent> match) {
    for (int i = 0; i < events.size(); i++) {
      if (match.test(events.get(i))) {
        return i;
      }
    }
    return -1;
  }
}
