package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.hotplug.HotplugFixture.VM;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Attach and detach against a real QEMU in qtest mode: emulated {@code edu} devices stand in for
 * DPU functions through the same flow as {@code vfio-pci}.
 */
class HotplugIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private HotplugFixture f;

  private QemuProcess qemu(QemuBinary binary, String name, int rootPorts, String... extra) {
    return harness.qemu(binary, name, rootPorts, extra);
  }

  private HotplugFixture sidecar(QemuProcess q) {
    f = new HotplugFixture(harness, HotplugFixture.fastOptions()).start(q);
    return f;
  }

  private static AttachRequest edu(String id) {
    return new AttachRequest(VM, "edu", null, null, id, null, null, "op-" + id);
  }

  @QemuTest
  void attachPicksAFreeRootPortAndVerifiesIt(QemuBinary binary) {
    sidecar(qemu(binary, "q", 2));
    f.awaitBusNumbered("rp1");

    Attachment first = result(f.ops.attach(Caller.cli(), edu("dpu-a")));
    Attachment second = result(f.ops.attach(Caller.cli(), edu("dpu-b")));

    assertThat(first.rootPort()).isEqualTo("rp1");
    assertThat(second.rootPort()).isEqualTo("rp2");
    assertThat(first.guestAddress()).matches("[0-9a-f]{2}:00\\.0").isNotEqualTo("00:00.0");
    assertThat(first.migrationBlockedReasons()).isEmpty();
    assertThat(result(f.conn.qomGet("/machine/peripheral/dpu-a", "realized")).asBoolean()).isTrue();
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).extracting(Attachment::id).containsExactly("dpu-a", "dpu-b");
    assertThat(f.types()).containsSubsequence(EventTypes.ATTACH_REQUESTED, EventTypes.ATTACH_ADDED,
        EventTypes.ATTACH_VERIFIED);
    assertThat(f.find(EventTypes.ATTACH_VERIFIED, "dpu-a").opId()).isEqualTo("op-dpu-a");
  }

  @QemuTest
  void withNoFreeRootPortTheErrorSaysHowToAddOne(QemuBinary binary) {
    sidecar(qemu(binary, "q", 1));
    result(f.ops.attach(Caller.cli(), edu("dpu-a")));

    SidecarException e = (SidecarException) failure(f.ops.attach(Caller.cli(), edu("dpu-b")));

    assertThat(e.kind()).isEqualTo(SidecarException.Kind.CONFLICT);
    assertThat(e.getMessage()).contains("add pcie-root-port devices to the VM")
        .contains("-device pcie-root-port");
    assertThat(e.detail("rootPorts")).isEqualTo(List.of("rp1"));
    assertThat(f.inQom("dpu-b")).isFalse();
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).extracting(Attachment::id).containsExactly("dpu-a");
  }

  @QemuTest
  void aDetachTheGuestDoesNotAckIsPendingAndCompletesLater(QemuBinary binary) {
    sidecar(qemu(binary, "q", 2));
    result(f.ops.attach(Caller.cli(), edu("dpu-a")));

    DetachResult r = result(f.ops.detach(Caller.cli(), new DetachRequest(VM, "dpu-a", false, "op-d")));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.PENDING);
    assertThat(f.find(EventTypes.DETACH_PENDING, "dpu-a")).isNotNull();
    assertThat(f.find(EventTypes.DEVICE_DETACHED, "dpu-a")).isNull();
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).extracting(Attachment::state)
        .containsExactly(AttachmentState.DETACHING);

    result(f.conn.systemReset());

    assertThat(f.awaitEvent(EventTypes.DEVICE_DETACHED, "dpu-a").opId()).isEqualTo("op-d");
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
    assertThat(f.inQom("dpu-a")).isFalse();
  }

  @QemuTest
  void aDetachCompletedThroughSystemResetWithinTheWaitIsDetached(QemuBinary binary) {
    f = new HotplugFixture(harness, HotplugOptions.defaults()).start(qemu(binary, "q", 2));
    result(f.ops.attach(Caller.cli(), edu("dpu-a")));
    f.events.subscribe(e -> e.type().equals(EventTypes.DETACH_UNPLUG_REQUESTED), 4, e -> f.conn.systemReset());

    DetachResult r = result(f.ops.detach(Caller.cli(), new DetachRequest(VM, "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.DETACHED);
    assertThat(f.find(EventTypes.DEVICE_DETACHED, "dpu-a")).isNotNull();
    assertThat(f.find(EventTypes.DETACH_PENDING, "dpu-a")).isNull();
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
  }

  @QemuTest
  void attachAndDetachAreIdempotent(QemuBinary binary) {
    sidecar(qemu(binary, "q", 2));
    Attachment a = result(f.ops.attach(Caller.cli(), edu("dpu-a")));

    assertThat(result(f.ops.attach(Caller.cli(), edu("dpu-a")))).isEqualTo(a);
    assertThat(f.types().stream().filter(EventTypes.ATTACH_ADDED::equals)).hasSize(1);
    SidecarException conflict = (SidecarException) failure(f.ops.attach(Caller.cli(),
        new AttachRequest(VM, "edu", null, null, "dpu-a", "rp2", null, null)));
    assertThat(conflict.kind()).isEqualTo(SidecarException.Kind.CONFLICT);
    assertThat(conflict.getMessage()).contains("already attached with other parameters");

    DetachRequest detach = new DetachRequest(VM, "dpu-a", false, null);
    assertThat(result(f.ops.detach(Caller.cli(), detach)).outcome()).isEqualTo(DetachOutcome.PENDING);
    assertThat(result(f.ops.detach(Caller.cli(), detach)).outcome()).isEqualTo(DetachOutcome.PENDING);
    result(f.conn.systemReset());
    f.awaitEvent(EventTypes.DEVICE_DETACHED, "dpu-a");
    assertThat(result(f.ops.detach(Caller.cli(), detach)).outcome()).isEqualTo(DetachOutcome.NOT_FOUND);
  }

  @QemuTest
  void aRemovalRequestedOutsideTheSidecarIsJoinedNotFailed(QemuBinary binary) {
    f = new HotplugFixture(harness, HotplugOptions.defaults()).start(qemu(binary, "q", 2));
    result(f.ops.attach(Caller.cli(), edu("dpu-a")));
    result(f.conn.execute(QmpCommands.deviceDel("dpu-a")));
    f.events.subscribe(e -> e.type().equals(EventTypes.DETACH_REQUESTED), 4,
        e -> harness.vertx().setTimer(1000, t -> f.conn.systemReset()));

    DetachResult r = result(f.ops.detach(Caller.cli(), new DetachRequest(VM, "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.DETACHED);
    assertThat(f.types()).doesNotContain(EventTypes.DETACH_PENDING);
    assertThat(f.find(EventTypes.DEVICE_DETACHED, "dpu-a")).isNotNull();
  }

  @QemuTest
  void vfioPciWithAMissingHostDeviceKeepsQemusErrorAndRestoresTheHost(QemuBinary binary) throws Exception {
    sidecar(qemu(binary, "q", 2));
    f.tree.device("0000:03:00.1", "15b3", "101e", 7, "mlx5_core");
    f.kernel.defaultDriver("0000:03:00.1", "mlx5_core");
    AttachRequest request = new AttachRequest(VM, "vfio-pci", FunctionRef.of(Bdf.parse("0000:03:00.1")),
        "vfio-pci", "dpu-vf1", null, null, null);

    SidecarException e = (SidecarException) failure(f.ops.attach(Caller.cli(), request));

    assertThat(e.kind()).isEqualTo(SidecarException.Kind.QEMU_ERROR);
    assertThat(e.detail("qemu")).isEqualTo(Map.of("class", "GenericError", "desc",
        "vfio /sys/bus/pci/devices/0000:03:00.1: no such host device: No such file or directory"));
    assertThat(e.rolledBack()).containsExactly("host driver of 0000:03:00.1 restored to mlx5_core");
    assertThat(f.tree.driver("0000:03:00.1")).isEqualTo("mlx5_core");
    assertThat(f.types()).containsSubsequence(EventTypes.ATTACH_HOST_PREPARED,
        EventTypes.ATTACH_ROLLED_BACK, EventTypes.ATTACH_FAILED);
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
  }

  @QemuTest
  void anMdevIsAddedBySysfsdevWithTheMigrationPropertiesItsQemuHasAndNothingRebound(QemuBinary binary) {
    sidecar(qemu(binary, "q", 2));
    String uuid = "88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10";
    f.tree.mdev(uuid, "devices/virtual/mtty/mtty", "mtty-1", 13).devNode(13);
    boolean hasMigration = !binary.version().startsWith("7.");

    SidecarException e = (SidecarException) failure(f.ops.attach(Caller.cli(),
        new AttachRequest(VM, "vfio-pci", FunctionRef.mdev(uuid), null, null, null, null, null)));
    DeviceOptions keptOff = result(MdevMigrationDefaults.apply(f.conn, new DeviceOptions(false, null, null, null),
        Duration.ofSeconds(5)));

    // Had the flow set a property this QEMU lacks, QEMU would name the property, not the mdev.
    assertThat(e.kind()).isEqualTo(SidecarException.Kind.QEMU_ERROR);
    assertThat(((Map<?, ?>) e.detail("qemu")).get("desc")).isEqualTo("vfio /sys/bus/mdev/devices/" + uuid
        + ": no such host device: No such file or directory");
    assertThat(f.find(EventTypes.ATTACH_HOST_PREPARED, "hp-" + uuid).text("mdevType")).isEqualTo("mtty-1");
    assertThat(f.kernel.writes()).isEmpty();
    assertThat(keptOff).isEqualTo(new DeviceOptions(false, hasMigration ? true : null, null, null));
    assertThat(result(MdevMigrationDefaults.apply(f.conn, DeviceOptions.NONE, Duration.ofSeconds(5))))
        .isEqualTo(hasMigration ? new DeviceOptions(true, true, null, null) : DeviceOptions.NONE);
    assertThat(result(f.ops.attachments(Caller.cli(), VM))).isEmpty();
  }

  @QemuTest
  void anApiCallerMayAttachAnMdevOnlyOfATypeTheConfigurationLists(QemuBinary binary) {
    QemuProcess q = qemu(binary, "q", 2);
    String uuid = "88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10";
    f = new HotplugFixture(harness, HotplugFixture.fastOptions());
    f.tree.mdev(uuid, "devices/virtual/mtty/mtty", "mtty-1", 13).devNode(13);
    f.start(q, ValueSets.of(Map.of("hotplug.mdevTypes", List.of("mtty-2"))));
    AttachRequest request = new AttachRequest(VM, "vfio-pci", FunctionRef.mdev(uuid), null, "mtty0", null, null, null);

    SidecarException denied = (SidecarException) failure(f.ops.attach(Caller.api("ci"), request));
    f.restartSidecar(ValueSets.of(Map.of("hotplug.mdevTypes", List.of("mtty-1"))));
    SidecarException passed = (SidecarException) failure(f.ops.attach(Caller.api("ci"), request));

    assertThat(denied.kind()).isEqualTo(SidecarException.Kind.DENIED);
    assertThat(denied.detail("rule")).isEqualTo("attach-vfio");
    assertThat((String) denied.detail("reason")).contains("mdev " + uuid + " has type mtty-1, not one of [mtty-2]");
    assertThat(passed.kind()).as("allowed by the policy, refused by QEMU: this host has no such mdev")
        .isEqualTo(SidecarException.Kind.QEMU_ERROR);
    assertThat(f.types()).containsOnlyOnce(EventTypes.ATTACH_HOST_PREPARED);
  }

  @QemuTest
  void attachDuringAnActiveMigrationIsRefusedFirst(QemuBinary binary) {
    QemuProcess src = qemu(binary, "src", 2);
    QemuProcess dst = qemu(binary, "dst", 2, "-incoming", "defer");
    sidecar(src);
    int port = 20000 + (int) (ProcessHandle.current().pid() % 20000);
    QmpConnection dconn = result(QmpClient.create(harness.vertx(), QmpClientOptions.of(dst.qmpAddress())).connect());
    result(dconn.migrateIncoming("tcp:127.0.0.1:" + port));
    result(f.conn.migrateSetCapabilities(Map.of("pause-before-switchover", true)));
    result(f.conn.migrate("tcp:127.0.0.1:" + port));
    Await.until("migration paused before switchover",
        () -> "pre-switchover".equals(result(f.conn.queryMigrate()).status()));

    SidecarException e = (SidecarException) failure(f.ops.attach(Caller.cli(), edu("dpu-a")));
    QmpCommandException qemuSays = (QmpCommandException) failure(f.conn.deviceAdd(
        JsonNodeFactory.instance.objectNode().put("driver", "edu").put("id", "raw").put("bus", "rp1")));

    assertThat(e.kind()).isEqualTo(SidecarException.Kind.MIGRATING);
    assertThat(e.detail("migrationStatus")).isEqualTo("pre-switchover");
    assertThat(e.getMessage()).contains("wait for the migration to finish or cancel it");
    assertThat(qemuSays.description()).isEqualTo("device_add not allowed while migrating");
    assertThat(f.inQom("dpu-a")).isFalse();
    result(f.conn.migrateCancel());
    result(dconn.close());
  }

  @QemuTest
  void aQemuRestartIsReconciledAndASidecarRestartNeverAttachesTwice(QemuBinary binary) {
    QemuProcess q = qemu(binary, "q", 2);
    sidecar(q);
    Attachment a = result(f.ops.attach(Caller.cli(), edu("dpu-a")));
    f.restartSidecar();
    assertThat(result(f.ops.attach(Caller.cli(), edu("dpu-a")))).isEqualTo(a);
    assertThat(f.types().stream().filter(EventTypes.ATTACH_ADDED::equals)).hasSize(1);
    result(f.conn.deviceAdd(JsonNodeFactory.instance.objectNode().put("driver", "edu")
        .put("id", "stranger").put("bus", "rp2")));
    f.restartSidecar();
    assertThat(f.awaitEvent(EventTypes.DRIFT_UNKNOWN, "stranger")).isNotNull();

    q.kill();
    Await.until("connection lost", () -> f.conn.state() != QmpState.READY);
    q.start();

    assertThat(f.awaitEvent(EventTypes.DRIFT_MISSING, "dpu-a").opId()).isEqualTo("op-dpu-a");
    Await.until("store forgot dpu-a", () -> result(f.ops.attachments(Caller.cli(), VM)).isEmpty());
    Attachment again = result(f.ops.attach(Caller.cli(), edu("dpu-a")));
    assertThat(again.rootPort()).isEqualTo("rp1");
  }
}
