package io.qmpsidecar.sidecar.ops;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.OperationsRig;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Operations against a scripted QMP server, for what a real QEMU will not do on demand. */
class OperationsTest {
  private static final String ROOT_PORTS = "\"return\":[{\"name\":\"rp1\",\"type\":\"child<pcie-root-port>\"}]";
  /** The root port and a device dpu-a the sidecar did not attach (a detach's target). */
  private static final String WITH_DPU_A = "\"return\":[{\"name\":\"rp1\",\"type\":\"child<pcie-root-port>\"},"
      + "{\"name\":\"dpu-a\",\"type\":\"child<edu>\"}]";
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private FakeQmpServer server;
  private OperationsRig rig;
  private Operations ops;
  private List<SidecarEvent> seen;
  private String peripherals = ROOT_PORTS;

  @AfterEach
  void tearDown() {
    server.close();
  }

  private void start(String preset, int maxQueued, BiConsumer<JsonNode, FakeQmpServer.Peer> script) {
    Vertx vertx = harness.vertx();
    Path dir = harness.dir();
    server = new FakeQmpServer(vertx, dir).onCommand((req, peer) -> {
      if (req.path("execute").asText().equals("qom-list")
          && req.path("arguments").path("path").asText().equals("/machine/peripheral")) {
        peer.send(FakeQmpServer.reply(req, peripherals));
      } else if (req.path("arguments").path("property").asText().equals("hotplug")) {
        peer.send(FakeQmpServer.reply(req, "\"return\":true"));
      } else {
        script.accept(req, peer);
      }
    });
    SysfsTree tree = new SysfsTree(dir.resolve("host"));
    HotplugOptions options = HotplugOptions.defaults().withDetachWait(Duration.ofSeconds(5))
        .withUnplugRetryWindow(Duration.ofMillis(100));
    rig = harness.track(new OperationsRig(vertx, Map.of("vm1", server.address()),
        new SysfsHostPrep(vertx, tree.sys(), tree.dev(), new FakeKernel(tree)), options,
        dir.resolve(StateStore.FILE_NAME), Policies.preset(preset), maxQueued));
    ops = rig.ops();
    seen = rig.seen;
  }

  private long sent(String command) {
    return server.received().stream().filter(r -> r.path("execute").asText().equals(command)).count();
  }

  private static AttachRequest edu(String id) {
    return new AttachRequest("vm1", "edu", null, null, id, null, null, null);
  }

  @Test
  void aDeniedAttachChangesNothing() {
    start("dpu", 4, (req, peer) -> peer.ok(req));

    SidecarException e = (SidecarException) failure(ops.attach(Caller.dpu(), edu("dpu-a")));

    assertThat(e.kind()).isEqualTo(SidecarException.Kind.DENIED);
    assertThat(e.detail("rule")).isNotNull();
    assertThat(e.getMessage()).contains("dpu may not attach dpu-a");
    assertThat(sent("device_add")).isZero();
  }

  @Test
  void aFullQueueIsABusyErrorAndTheQueueRunsInOrder() {
    List<JsonNode> held = new CopyOnWriteArrayList<>();
    List<FakeQmpServer.Peer> peers = new CopyOnWriteArrayList<>();
    start("default", 1, (req, peer) -> {
      if (req.path("execute").asText().equals("query-migrate")) {
        held.add(req);
        peers.add(peer);
      } else {
        peer.ok(req);
      }
    });

    Future<?> first = ops.attach(Caller.cli(), edu("a"));
    Future<?> second = ops.attach(Caller.cli(), edu("b"));
    SidecarException busy = (SidecarException) failure(ops.attach(Caller.cli(), edu("c")));

    assertThat(busy.kind()).isEqualTo(SidecarException.Kind.BUSY);
    assertThat(busy.getMessage()).contains("VM vm1 already has 1 operations queued");
    assertThat(busy.code()).isEqualTo("vm-busy");
    assertThat(busy.detail("limit")).as("docs/hotplug.md: detail limit").isEqualTo(1);
    Await.until("first attach asks QEMU", () -> held.size() == 1);
    assertThat(second.isComplete()).isFalse();
    peers.get(0).send(FakeQmpServer.reply(held.get(0), "\"return\":{\"status\":\"active\"}"));
    assertThat(((SidecarException) failure(first)).kind()).isEqualTo(SidecarException.Kind.MIGRATING);
    Await.until("second attach runs after the first", () -> held.size() == 2);
    peers.get(1).send(FakeQmpServer.reply(held.get(1), "\"return\":{\"status\":\"active\"}"));
    assertThat(((SidecarException) failure(second)).kind()).isEqualTo(SidecarException.Kind.MIGRATING);
  }

  @Test
  void aDetachThatMustFindItsDeviceIsRefusedWhenItIsNeitherRecordedNorInQemu() {
    start("default", 4, (req, peer) -> peer.send(req.path("execute").asText().equals("device_del")
        ? FakeQmpServer.reply(req, "\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"Device 'ghost' not found\"}")
        : FakeQmpServer.reply(req, "\"return\":{}")));

    assertThat(result(ops.detach(Caller.cli(), new DetachRequest("vm1", "ghost", false, null))).outcome())
        .as("idempotent: what QEMU does not have is detached").isEqualTo(DetachOutcome.NOT_FOUND);
    long sentBefore = sent("device_del");
    SidecarException e = (SidecarException) failure(ops.submitDetach(Caller.cli(),
        new DetachRequest("vm1", "ghost", false, null), true).accepted());

    assertThat(e.kind()).isEqualTo(SidecarException.Kind.NOT_FOUND);
    assertThat(e.details()).containsEntry("vm", "vm1").containsEntry("device", "ghost");
    assertThat(sent("device_del")).as("refused before anything is sent").isEqualTo(sentBefore);
  }

  @Test
  void aGuestErrorEventIsRejected() {
    peripherals = WITH_DPU_A;
    start("default", 4, (req, peer) -> {
      peer.ok(req);
      if (req.path("execute").asText().equals("device_del")) {
        peer.sendLater(20, "{\"event\":\"DEVICE_UNPLUG_GUEST_ERROR\",\"data\":{\"device\":\"dpu-a\","
            + "\"path\":\"/machine/peripheral/dpu-a\"},\"timestamp\":{\"seconds\":1,\"microseconds\":0}}");
      }
    });

    var r = result(ops.detach(Caller.cli(), new DetachRequest("vm1", "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.REJECTED);
    Await.until("detach.rejected published", () -> seen.stream()
        .anyMatch(e -> e.type().equals(EventTypes.DETACH_REJECTED)));
  }

  @Test
  void anUnplugAlreadyInProgressIsRetriedAfterTheWindowNotReported() {
    peripherals = WITH_DPU_A;
    int[] calls = {0};
    start("default", 4, (req, peer) -> {
      if (!req.path("execute").asText().equals("device_del")) {
        peer.ok(req);
      } else if (calls[0]++ == 0) {
        peer.send(FakeQmpServer.reply(req, "\"error\":{\"class\":\"GenericError\",\"desc\":"
            + "\"Device dpu-a is already in the process of unplug\"}"));
      } else {
        peer.ok(req);
        peer.sendLater(10, "{\"event\":\"DEVICE_DELETED\",\"data\":{\"device\":\"dpu-a\","
            + "\"path\":\"/machine/peripheral/dpu-a\"},\"timestamp\":{\"seconds\":1,\"microseconds\":0}}");
      }
    });

    var r = result(ops.detach(Caller.cli(), new DetachRequest("vm1", "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.DETACHED);
    assertThat(sent("device_del")).isEqualTo(2);
  }

  @Test
  void aChildObjectsDeletionDoesNotCompleteTheDevice() {
    peripherals = WITH_DPU_A;
    start("default", 4, (req, peer) -> {
      peer.ok(req);
      if (req.path("execute").asText().equals("device_del")) {
        peer.sendLater(10, "{\"event\":\"DEVICE_DELETED\",\"data\":{\"path\":"
            + "\"/machine/peripheral/dpu-a/virtio-backend\"},\"timestamp\":{\"seconds\":1,\"microseconds\":0}}");
      }
    });
    ops = rig.restart(HotplugOptions.defaults().withDetachWait(Duration.ofMillis(200))).ops();

    var r = result(ops.detach(Caller.cli(), new DetachRequest("vm1", "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.PENDING);
  }

  /** A real QEMU answers every qom-get; a slow or foreign monitor may not, and a port is then of unknown state. */
  @Test
  void aSlotProbeWithoutAnAnswerFailsThePlacementAndAddsNothing() {
    start("default", 4, (req, peer) -> {
      if (req.path("arguments").path("path").asText().equals("/machine/peripheral-anon")) {
        peer.send(FakeQmpServer.reply(req, "\"return\":[]"));
      } else if (!req.path("arguments").path("property").asText().equals("parent_bus")) {
        peer.ok(req);
      }
    });
    ops = rig.restart(HotplugOptions.defaults().withQueryTimeout(Duration.ofSeconds(1))).ops();

    SidecarException e = (SidecarException) failure(ops.attach(Caller.cli(), edu("dpu-a")));

    assertThat(e.code()).isEqualTo("placement-unknown");
    assertThat(e.kind()).isEqualTo(SidecarException.Kind.TIMEOUT);
    assertThat(e.getMessage()).contains("which bus /machine/peripheral/rp1 sits on").contains("nothing was added");
    assertThat(sent("device_add")).isZero();
  }

  @Test
  void anUnknownVmIsNamed() {
    start("default", 4, (req, peer) -> peer.ok(req));

    SidecarException e = (SidecarException) failure(
        ops.attach(Caller.cli(), new AttachRequest("vm9", "edu", null, null, "x", null, null, null)));
    assertThat(e.kind()).isEqualTo(SidecarException.Kind.NOT_FOUND);
    assertThat(e.getMessage()).contains("no VM named 'vm9'").contains("configured VMs: [vm1]");
  }

  /**
   * query-pci while SeaBIOS scans: rp1's bus is 255 and lists nothing, then bus 1 lists the device.
   * A real QEMU shows this for a few milliseconds after start (seen under load); a fake shows it
   * for as many reads as the test needs.
   */
  private static String queryPci(boolean numbered) {
    String children = numbered ? "{\"bus\":1,\"slot\":0,\"function\":0,\"qdev_id\":\"dpu-a\","
        + "\"class_info\":{\"class\":255},\"id\":{\"vendor\":4660,\"device\":4369}}" : "";
    return "\"return\":[{\"bus\":0,\"devices\":[{\"bus\":0,\"slot\":1,\"function\":0,\"qdev_id\":\"rp1\","
        + "\"class_info\":{\"class\":1540},\"id\":{\"vendor\":6966,\"device\":12},"
        + "\"pci_bridge\":{\"bus\":{\"number\":0,\"secondary\":" + (numbered ? 1 : 255)
        + ",\"subordinate\":255},\"devices\":[" + children + "]}}]}]";
  }

  private void startWithFirmwareScanningFor(int reads) {
    int[] pciReads = {0};
    start("default", 4, (req, peer) -> {
      switch (req.path("execute").asText()) {
        case "qom-get" -> peer.send(FakeQmpServer.reply(req, req.path("arguments").path("property").asText()
            .equals("realized") ? "\"return\":true" : "\"return\":\"/machine/q35/pcie.0\""));
        case "query-pci" -> peer.send(FakeQmpServer.reply(req, queryPci(++pciReads[0] > reads)));
        case "query-migrate" -> peer.send(FakeQmpServer.reply(req, "\"return\":{}"));
        case "qom-list" -> peer.send(FakeQmpServer.reply(req, "\"return\":[]"));
        default -> peer.ok(req);
      }
    });
  }

  @Test
  void aBusTheFirmwareIsNumberingIsReadAgainUntilItListsTheDevice() {
    startWithFirmwareScanningFor(3);

    var attached = result(ops.attach(Caller.cli(), edu("dpu-a")));

    assertThat(attached.guestAddress()).isEqualTo("01:00.0");
    assertThat(sent("device_del")).isZero();
  }

  @Test
  void aBusThatNeverListsTheDeviceLeavesTheAddressUnknownAndTheDeviceAttached() {
    startWithFirmwareScanningFor(Integer.MAX_VALUE);

    var attached = result(ops.attach(Caller.cli(), edu("dpu-a")));

    assertThat(attached.guestAddress()).isNull();
    assertThat(sent("query-pci")).as("the first read and ten more").isGreaterThanOrEqualTo(11);
    assertThat(sent("device_del")).isZero();
  }
}
