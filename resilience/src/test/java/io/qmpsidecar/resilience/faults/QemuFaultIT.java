package io.qmpsidecar.resilience.faults;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU killed (SIGKILL), stopped (SIGSTOP) and restarted under a whole in-process sidecar with
 * a real DPU end on loopback. Each test injects one fault and writes one FAULT row: every API
 * caller's wait must end within its bound, the DPU's received log must have no gap and no repeat,
 * nothing is attached twice, the VM's real device set must match the sidecar's record or the
 * drift be reported, and the sidecar must keep serving.
 */
class QemuFaultIT {
  private static final String POLICY = """
      version: 1
      name: fault-test
      rules:
        - {id: all, effect: allow, callers: ["*"], commands: ["*"], reason: the fault tests may do anything}
      """;
  /** Slack on top of a configured timeout for a caller's answer to arrive. */
  private static final Duration SLACK = Duration.ofSeconds(3);
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();
  private final List<SidecarEvent> events = new CopyOnWriteArrayList<>();
  private DpuEndpoint dpu;
  private Sidecar sidecar;
  private FaultApi api;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  /** The DPU end, then a sidecar for {@code vms} with {@code sets} on top of the test's keys. */
  private void startSidecar(List<String> vms, String... sets) throws Exception {
    dpu = result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withPort(0)));
    cleanup.add(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
    List<String> keys = new ArrayList<>(List.of("api.socket=" + dir.resolve("api.sock"), "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy, "relay.url=ws://127.0.0.1:" + dpu.actualPort(),
        "relay.hostId=host-1"));
    keys.addAll(List.of(sets));
    sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), keys, vms), Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    EventSubscription all = sidecar.events().subscribe(e -> true, 4096, events::add);
    cleanup.add(all::cancel);
    api = new FaultApi(vertx, dir.resolve("api.sock"));
    Await.until("the DPU link is up and every VM is ready", () -> dpu.connectedHosts().contains("host-1")
        && api.call(HttpMethod.GET, "/readyz", null).status() == 200);
  }

  private void inject(String fault, QemuBinary binary, FaultRun.Body body) throws Exception {
    FaultRun.inject(fault + " (QEMU " + binary.version() + ")", received, "the DPU's received log", body);
  }

  private Future<Reply> send(HttpMethod method, String uri, String body) {
    return api.send(method, uri, body);
  }

  private Reply call(HttpMethod method, String uri, String body) {
    return api.call(method, uri, body);
  }

  private long eventsOf(String type) {
    return events.stream().filter(e -> e.type().equals(type)).count();
  }

  /** The VM's real device set matches the record, or each difference was reported as drift. */
  private void assertRecordMatchesQemuOrDrift(String vm) {
    api.assertRecordMatchesQemuOrDrift(vm, (type, id) -> events.stream()
        .anyMatch(e -> e.type().equals(type) && vm.equals(e.vm()) && id.equals(e.text("id"))));
  }

  /** After a fault: the API answers, the VM serves commands and is ready. */
  private void assertServes(FaultRun run, String vm) {
    assertThat(run.bounded("GET /healthz", send(HttpMethod.GET, "/healthz", null), SLACK).value().status()).isEqualTo(200);
    Await.until(vm + " is ready again", () -> call(HttpMethod.GET, "/readyz", null).status() == 200);
    Reply status = run.bounded("query-status", send(HttpMethod.POST, "/v1/vms/" + vm + "/qmp",
        "{\"execute\":\"query-status\"}"), SLACK).value();
    assertThat(status.status()).as("query-status: %s", status.body()).isEqualTo(200);
    assertThat(status.body().path("return").has("status")).as("the reply of this command: %s", status.body()).isTrue();
  }

  private long deletedNotifications(String vm, String id) {
    return received.stream().filter(n -> n.method().equals("device.deleted") && vm.equals(n.params().get("vm"))
        && id.equals(n.params().get("device"))).count();
  }

  @QemuTest
  void killDuringCommand(QemuBinary binary) throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(binary, dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.command=5s");
    inject("QEMU SIGKILL during a command, restarted on the same socket", binary, run -> {
      vm1.suspend();
      Future<Reply> command = send(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}");
      Await.until("the command is in flight", () -> api.inFlight("vm1") >= 1);
      long reconciled = eventsOf(EventTypes.RECONCILED);
      vm1.kill();
      Reply failed = run.bounded("the passthrough in flight", command, Duration.ofSeconds(5).plus(SLACK)).value();
      assertThat(failed.status()).as("in flight when QEMU died: %s", failed.body()).isGreaterThanOrEqualTo(500);
      assertThat(run.bounded("GET /healthz", send(HttpMethod.GET, "/healthz", null), SLACK).value().status()).isEqualTo(200);
      Await.until("/readyz names vm1 as not ready", () -> {
        Reply ready = call(HttpMethod.GET, "/readyz", null);
        return ready.status() == 503 && ready.body().toString().contains("vm1");
      });
      vm1.start();
      assertServes(run, "vm1");
      Await.until("a reconcile after the reconnect is published", () -> eventsOf(EventTypes.RECONCILED) > reconciled);
      assertRecordMatchesQemuOrDrift("vm1");
    });
  }

  @QemuTest
  void killDuringAttach(QemuBinary binary) throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(binary, dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.command=2s", "timeouts.attach=5s");
    String attach = "{\"driver\":\"e1000e\",\"id\":\"nic1\",\"opId\":\"op-attach-1\"}";
    inject("QEMU SIGKILL during an attach, restarted", binary, run -> {
      vm1.suspend();
      Future<Reply> attaching = send(HttpMethod.POST, "/v1/vms/vm1/devices", attach);
      Await.until("the attach reached QEMU", () -> api.inFlight("vm1") >= 1);
      vm1.kill();
      Reply failed = run.bounded("the attach", attaching, Duration.ofSeconds(5).plus(SLACK)).value();
      assertThat(failed.status()).as("attach while QEMU died: %s", failed.body()).isGreaterThanOrEqualTo(500);
      assertThat(failed.body().toString()).as("a clear error").containsIgnoringCase("vm1");
      long reconciled = eventsOf(EventTypes.RECONCILED);
      vm1.start();
      assertServes(run, "vm1");
      Await.until("a reconcile after the reconnect", () -> eventsOf(EventTypes.RECONCILED) > reconciled);
      assertRecordMatchesQemuOrDrift("vm1");
      Reply again = run.bounded("the attach retried", send(HttpMethod.POST, "/v1/vms/vm1/devices", attach),
          Duration.ofSeconds(5).plus(SLACK)).value();
      assertThat(again.status()).as("retry: %s", again.body()).isIn(200, 201);
      assertThat(api.qemuDevices("vm1")).as("no double attach").containsExactly("nic1");
      assertThat(api.recordedDevices("vm1")).containsExactly("nic1");
    });
  }

  @QemuTest
  void killDuringDetachWait(QemuBinary binary) throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(binary, dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.detach=1s");
    inject("QEMU SIGKILL during a detach wait, restarted", binary, run -> {
      assertThat(call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\"}").status())
          .isEqualTo(201);
      Reply pending = run.bounded("the detach", send(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1", null),
          Duration.ofSeconds(1).plus(SLACK)).value();
      assertThat(pending.status()).as("no guest acks in qtest mode: %s", pending.body()).isEqualTo(202);
      vm1.kill();
      Await.until("/readyz reports vm1", () -> call(HttpMethod.GET, "/readyz", null).status() == 503);
      assertThat(deletedNotifications("vm1", "nic1")).as("device.deleted while QEMU is dead, unconfirmed").isZero();
      long reconciled = eventsOf(EventTypes.RECONCILED);
      vm1.start();
      assertServes(run, "vm1");
      Await.until("a reconcile after the reconnect", () -> eventsOf(EventTypes.RECONCILED) > reconciled);
      assertThat(api.qemuDevices("vm1")).as("the restarted QEMU has no nic1").isEmpty();
      assertRecordMatchesQemuOrDrift("vm1");
      Await.until("the DPU hears the device is gone", () -> deletedNotifications("vm1", "nic1") >= 1);
      assertThat(deletedNotifications("vm1", "nic1")).as("device.deleted once").isEqualTo(1);
    });
  }

  @QemuTest
  void stopLongerThanEveryTimeout(QemuBinary binary) throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(binary, dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.command=2s", "timeouts.attach=3s",
        "timeouts.detach=3s");
    inject("QEMU SIGSTOP longer than every timeout, then SIGCONT", binary, run -> {
      vm1.suspend();
      List<Future<Reply>> callers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        callers.add(send(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}"));
      }
      Future<Reply> attach = send(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\"}");
      for (Future<Reply> c : callers) {
        Reply r = run.bounded("a passthrough to a stopped QEMU", c, Duration.ofSeconds(2).plus(SLACK)).value();
        assertThat(r.status()).as("timed out: %s", r.body()).isGreaterThanOrEqualTo(500);
      }
      Reply attached = run.bounded("an attach to a stopped QEMU", attach, Duration.ofSeconds(3).plus(SLACK)).value();
      assertThat(attached.status()).as("attach timed out: %s", attached.body()).isGreaterThanOrEqualTo(400);
      assertThat(run.bounded("GET /healthz", send(HttpMethod.GET, "/healthz", null), SLACK).value().status()).isEqualTo(200);
      Thread.sleep(3500);
      vm1.resume();
      assertServes(run, "vm1");
      Reply listed = run.bounded("qom-list after SIGCONT", send(HttpMethod.POST, "/v1/vms/vm1/qmp",
          "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}"), SLACK).value();
      assertThat(listed.body().path("return").findValuesAsText("name")).as("its own reply, not a late one").contains("rp1");
      long reconciled = eventsOf(EventTypes.RECONCILED);
      assertThat(run.bounded("a reconcile", sidecar.operations().reconcile("vm1"), SLACK).failure()).isNull();
      Await.until("the reconcile is published", () -> eventsOf(EventTypes.RECONCILED) > reconciled);
      assertRecordMatchesQemuOrDrift("vm1");
    });
  }

  @QemuTest
  void killMigrationDestination(QemuBinary binary) throws Exception {
    killDuringMigration(binary, false);
  }

  @QemuTest
  void killMigrationSource(QemuBinary binary) throws Exception {
    killDuringMigration(binary, true);
  }

  private void killDuringMigration(QemuBinary binary, boolean source) throws Exception {
    QemuProcess src = QemuProcess.startQtest(binary, dir, "src", 2);
    cleanup.add(src);
    QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 2, "-incoming", "defer");
    cleanup.add(dst);
    startSidecar(List.of("src=" + src.qmpAddress(), "dst=" + dst.qmpAddress()), "timeouts.command=2s");
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String body = "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:" + port
        + "\",\"strategy\":\"unplug-replug\",\"parameters\":{\"maxBandwidth\":20000}}";
    inject("QEMU SIGKILL of the migration " + (source ? "source" : "destination") + " mid-migration", binary, run -> {
      Reply started = run.bounded("POST migrations", send(HttpMethod.POST, "/v1/vms/src/migrations", body), SLACK).value();
      assertThat(started.status()).as("start: %s", started.body()).isEqualTo(202);
      Await.until("RAM is being sent", () -> {
        JsonNode m = call(HttpMethod.GET, "/v1/vms/src/migration", null).body();
        return m.path("state").asText().equals("MIGRATING") && m.path("source").path("progress").path("transferredBytes").asLong() > 0;
      });
      (source ? src : dst).kill();
      JsonNode[] last = new JsonNode[1];
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      List<String> ends = List.of("COMPLETED", "ROLLED_BACK", "ROLLBACK_FAILED", "REFUSED");
      do {
        assertThat(System.nanoTime()).as("the migration has an outcome within 30 s; last seen: %s", last[0])
            .isLessThan(deadline);
        Thread.sleep(50);
        last[0] = run.bounded("GET migration", send(HttpMethod.GET, "/v1/vms/src/migration", null), SLACK).value().body();
      } while (!ends.contains(last[0].path("state").asText()));
      String[] state = {last[0].path("state").asText()};
      assertThat(state[0]).as("a migration whose %s died cannot complete", source ? "source" : "destination")
          .isIn("ROLLED_BACK", "ROLLBACK_FAILED");
      assertThat(run.bounded("GET /healthz", send(HttpMethod.GET, "/healthz", null), SLACK).value().status()).isEqualTo(200);
      if (source) {
        Reply ready = call(HttpMethod.GET, "/readyz", null);
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body().toString()).as("the dead source is reported").contains("src");
      } else {
        Reply status = run.bounded("query-status on the source", send(HttpMethod.POST, "/v1/vms/src/qmp",
            "{\"execute\":\"query-status\"}"), SLACK).value();
        assertThat(status.body().path("return").path("status").asText()).as("the source runs on").isEqualTo("running");
        assertRecordMatchesQemuOrDrift("src");
      }
      Await.until("the DPU hears how it ended", () -> received.stream().anyMatch(n -> n.method().equals("migration.coordination")
          && "src".equals(n.params().get("vm")) && List.of("rolled-back", "rollback-failed").contains(n.params().get("state"))));
    });
  }
}
