package io.qmpsidecar.sidecar.ops;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Operations against a scripted QMP server, for what a real QEMU will not do on demand. */
class OperationsTest {
  private static final String ROOT_PORTS = "\"return\":[{\"name\":\"rp1\",\"type\":\"child<pcie-root-port>\"}]";
  private static Vertx vertx;

  @TempDir Path dir;
  private FakeQmpServer server;
  private QmpClient client;
  private StateStore store;
  private Operations ops;
  private final List<SidecarEvent> seen = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void tearDown() {
    ops.close();
    result(client.close());
    result(store.close());
    server.close();
  }

  private void start(String preset, int maxQueued, BiConsumer<JsonNode, FakeQmpServer.Peer> script) {
    server = new FakeQmpServer(vertx, dir).onCommand((req, peer) -> {
      if (req.path("execute").asText().equals("qom-list")
          && req.path("arguments").path("path").asText().equals("/machine/peripheral")) {
        peer.send(FakeQmpServer.reply(req, ROOT_PORTS));
      } else if (req.path("arguments").path("property").asText().equals("hotplug")) {
        peer.send(FakeQmpServer.reply(req, "\"return\":true"));
      } else {
        script.accept(req, peer);
      }
    });
    client = QmpClient.create(vertx, QmpClientOptions.of(server.address()));
    QmpConnection conn = result(client.connect());
    store = result(StateStore.open(vertx, dir.resolve(StateStore.FILE_NAME)));
    SysfsTree tree = new SysfsTree(dir.resolve("host"));
    EventStream events = new EventStream(vertx, Clock.systemUTC(), 256);
    events.subscribe(e -> true, 256, seen::add);
    HotplugOptions options = HotplugOptions.defaults().withDetachWait(Duration.ofSeconds(5))
        .withUnplugRetryWindow(Duration.ofMillis(100));
    ops = new Operations(vertx, new PolicyEngine(Policies.preset(preset), AuditSink.NONE,
        Clock.systemUTC()), store, events, new SysfsHostPrep(vertx, tree.sys(), tree.dev(),
        new FakeKernel(tree)), options, maxQueued);
    result(ops.addVm("vm1", conn));
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

    PolicyDeniedException e = (PolicyDeniedException) failure(ops.attach(Caller.dpu(), edu("dpu-a")));

    assertThat(e.decision().allowed()).isFalse();
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
    VmBusyException busy = (VmBusyException) failure(ops.attach(Caller.cli(), edu("c")));

    assertThat(busy.getMessage()).contains("VM vm1 already has 1 operations queued");
    Await.until("first attach asks QEMU", () -> held.size() == 1);
    assertThat(second.isComplete()).isFalse();
    peers.get(0).send(FakeQmpServer.reply(held.get(0), "\"return\":{\"status\":\"active\"}"));
    assertThat(failure(first)).isInstanceOf(MigrationActiveException.class);
    Await.until("second attach runs after the first", () -> held.size() == 2);
    peers.get(1).send(FakeQmpServer.reply(held.get(1), "\"return\":{\"status\":\"active\"}"));
    assertThat(failure(second)).isInstanceOf(MigrationActiveException.class);
  }

  @Test
  void aGuestErrorEventIsRejected() {
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
    start("default", 4, (req, peer) -> {
      peer.ok(req);
      if (req.path("execute").asText().equals("device_del")) {
        peer.sendLater(10, "{\"event\":\"DEVICE_DELETED\",\"data\":{\"path\":"
            + "\"/machine/peripheral/dpu-a/virtio-backend\"},\"timestamp\":{\"seconds\":1,\"microseconds\":0}}");
      }
    });
    ops.close();
    HotplugOptions quick = HotplugOptions.defaults().withDetachWait(Duration.ofMillis(200));
    ops = new Operations(vertx, new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
        Clock.systemUTC()), store, new EventStream(vertx, Clock.systemUTC(), 16),
        new SysfsHostPrep(vertx, dir, dir, (f, v) -> { }), quick, 4);
    result(ops.addVm("vm1", result(client.connect())));

    var r = result(ops.detach(Caller.cli(), new DetachRequest("vm1", "dpu-a", false, null)));

    assertThat(r.outcome()).isEqualTo(DetachOutcome.PENDING);
  }

  @Test
  void anUnknownVmIsNamed() {
    start("default", 4, (req, peer) -> peer.ok(req));

    UnknownVmException e = org.junit.jupiter.api.Assertions.assertThrows(UnknownVmException.class,
        () -> ops.attach(Caller.cli(), new AttachRequest("vm9", "edu", null, null, "x", null, null, null)));
    assertThat(e.getMessage()).contains("unknown VM 'vm9'");
  }
}
