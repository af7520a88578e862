package io.qmpsidecar.resilience.faults;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sidecar itself killed with SIGKILL in the middle of an attach, a detach and a migration,
 * then started again on the same state directory. It runs as a child JVM (the test kills only
 * that process); QEMU and the DPU end stay up. The DPU's received log must continue across the
 * restart with no gap and no repeat, nothing is attached twice, the VM's real device set matches
 * the restarted sidecar's record or the drift is reported on its event stream, and it serves.
 * The sidecar's behaviour here does not depend on the QEMU version: it runs on the first
 * configured QEMU only.
 */
class SidecarKillFaultIT {
  private static final String POLICY = """
      version: 1
      name: fault-test
      rules:
        - {id: all, effect: allow, callers: ["*"], commands: ["*"], reason: the fault tests may do anything}
      """;
  private static final Duration SLACK = Duration.ofSeconds(3);
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();
  private DpuEndpoint dpu;
  private List<String> args;
  private Process sidecar;
  private FaultApi api;
  /** The restarted sidecar's event stream from its first event on (NDJSON). */
  private final StringBuffer restartedEvents = new StringBuffer();

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
    killSidecar();
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  private static QemuBinary qemu() {
    return QemuBinaries.all().get(0);
  }

  /** The DPU end and the command line of a sidecar for {@code vms}; starts it. */
  private void startSidecar(List<String> vms, String... sets) throws Exception {
    dpu = result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withPort(0)));
    cleanup.add(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
    args = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-Dorg.sqlite.tmpdir=" + System.getProperty("org.sqlite.tmpdir", System.getProperty("java.io.tmpdir")),
        "-cp", System.getProperty("java.class.path"), "io.qmpsidecar.sidecar.cli.QmpSidecarCommand", "run"));
    for (String vm : vms) {
      args.addAll(List.of("--qmp", vm));
    }
    List<String> keys = new ArrayList<>(List.of("api.socket=" + dir.resolve("api.sock"), "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy, "relay.url=ws://127.0.0.1:" + dpu.actualPort(),
        "relay.hostId=host-1"));
    keys.addAll(List.of(sets));
    for (String key : keys) {
      args.addAll(List.of("--set", key));
    }
    launch();
  }

  /** Starts the child JVM and waits until it serves, every VM is ready and the DPU link is up. */
  private void launch() throws Exception {
    Files.deleteIfExists(dir.resolve("api.sock"));
    sidecar = new ProcessBuilder(args).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("sidecar.log").toFile())).start();
    api = new FaultApi(vertx, dir.resolve("api.sock"));
    Await.until("the sidecar serves, its VMs are ready and the DPU link is up", () -> {
      if (!sidecar.isAlive()) {
        throw new AssertionError("the sidecar exited with " + sidecar.exitValue() + ": " + log());
      }
      return Files.exists(dir.resolve("api.sock")) && servesReady();
    });
  }

  /** Whether the API answers /readyz with 200 and the DPU link is up; false while the socket is not yet listening. */
  private boolean servesReady() {
    try {
      return api.call(HttpMethod.GET, "/readyz", null).status() == 200
          && api.call(HttpMethod.GET, "/metrics", null).body().asText().contains("qmp_sidecar_relay_link_up 1.0");
    } catch (AssertionError | RuntimeException notYet) {
      return false;
    }
  }

  /** SIGKILL to the child JVM this test started, and waits until it is gone. */
  private void killSidecar() throws InterruptedException {
    if (sidecar != null && sidecar.isAlive()) {
      sidecar.destroyForcibly();
      assertThat(sidecar.waitFor(10, TimeUnit.SECONDS)).as("the killed sidecar is gone").isTrue();
    }
  }

  /** Kills the sidecar and starts it again on the same state directory, following its events. */
  private void restart() throws Exception {
    killSidecar();
    launch();
    api.stream("/v1/events?format=ndjson&since=0", restartedEvents);
    Await.until("the restarted sidecar reconciled every VM", () -> restartedEvents.toString().contains("\"reconcile.done\""));
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("sidecar.log"));
    } catch (java.io.IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  private void inject(String fault, FaultRun.Body body) throws Exception {
    FaultRun.inject(fault, received, "the DPU's received log across the restart", body);
  }

  private Future<Reply> send(HttpMethod method, String uri, String body) {
    return api.send(method, uri, body);
  }

  private Reply call(HttpMethod method, String uri, String body) {
    return api.call(method, uri, body);
  }

  /** The VM's real device set matches the restarted sidecar's record, or it reported the drift. */
  private void assertRecordMatchesQemuOrDrift(String vm) {
    api.assertRecordMatchesQemuOrDrift(vm, this::drift);
  }

  private boolean drift(String type, String id) {
    return restartedEvents.toString().lines().anyMatch(l -> l.contains("\"" + type + "\"") && l.contains("\"" + id + "\""));
  }

  private void assertServes(FaultRun run, String vm) {
    Reply status = run.bounded("query-status after the restart", send(HttpMethod.POST, "/v1/vms/" + vm + "/qmp",
        "{\"execute\":\"query-status\"}"), SLACK).value();
    assertThat(status.status()).as("query-status: %s", status.body()).isEqualTo(200);
  }

  private long deleted(String id) {
    return received.stream().filter(n -> n.method().equals("device.deleted") && id.equals(n.params().get("device"))).count();
  }

  @Test
  void killedDuringAnAttach() throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(qemu(), dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.command=5s", "timeouts.attach=10s");
    String attach = "{\"driver\":\"e1000e\",\"id\":\"nic1\",\"opId\":\"op-attach-1\"}";
    inject("sidecar SIGKILL during an attach, restarted on its state", run -> {
      vm1.suspend();
      Future<Reply> attaching = send(HttpMethod.POST, "/v1/vms/vm1/devices", attach);
      Await.until("the attach reached QEMU", () -> api.inFlight("vm1") >= 1);
      killSidecar();
      FaultRun.Outcome<Reply> cut = run.bounded("the attach of the killed sidecar", attaching, SLACK);
      assertThat(cut.failure() != null || cut.value().status() >= 500).as("no success from a killed sidecar: %s",
          cut.value()).isTrue();
      vm1.resume();
      restart();
      assertServes(run, "vm1");
      assertRecordMatchesQemuOrDrift("vm1");
      Reply again = run.bounded("the attach retried", send(HttpMethod.POST, "/v1/vms/vm1/devices", attach),
          Duration.ofSeconds(10).plus(SLACK)).value();
      List<String> inQemu = api.qemuDevices("vm1");
      assertThat(inQemu).as("no double attach (retry answered %s %s)", again.status(), again.body()).hasSizeLessThanOrEqualTo(1);
      if (again.status() == 200 || again.status() == 201) {
        assertThat(inQemu).containsExactly("nic1");
        assertThat(api.recordedDevices("vm1")).containsExactly("nic1");
      } else {
        assertThat(again.status()).as("a clear refusal: %s", again.body()).isBetween(400, 499);
        assertRecordMatchesQemuOrDrift("vm1");
      }
    });
  }

  /**
   * Eight attaches queued, the sidecar killed as soon as QEMU holds two of the devices, so that
   * one attach is cut between its device_add and its record: each attach stores its intent
   * before it changes anything, and the restarted sidecar adopts what QEMU has and forgets what
   * it has not. No device of QEMU is left without a record, none is merely reported as drift.
   */
  @Test
  void killedAmidManyAttachesLeavesNoDeviceWithoutARecord() throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(qemu(), dir, "vm1", 8);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()));
    inject("sidecar SIGKILL amid eight attaches, restarted on its state", run -> {
      for (int i = 1; i <= 8; i++) {
        send(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic" + i
            + "\",\"opId\":\"op-nic" + i + "\"}");
      }
      Await.until("QEMU holds two of the devices", () -> api.qemuDevices("vm1").size() >= 2);
      restart();
      assertServes(run, "vm1");
      List<String> inQemu = api.qemuDevices("vm1").stream().sorted().toList();
      assertThat(api.recordedDevices("vm1")).as("every device QEMU has is recorded, and only those")
          .isEqualTo(inQemu);
      assertThat(restartedEvents.toString()).as("nothing left as drift").doesNotContain("\"drift.device-unknown\"");
      for (int i = 1; i <= 8; i++) {
        Reply again = run.bounded("attach nic" + i + " retried with its opId", send(HttpMethod.POST,
            "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic" + i + "\",\"opId\":\"op-nic" + i
            + "\"}"), Duration.ofSeconds(10).plus(SLACK)).value();
        assertThat(again.status()).as("retry of nic%d: %s", i, again.body()).isIn(200, 201);
      }
      assertThat(api.qemuDevices("vm1")).as("no double attach").hasSize(8);
      assertThat(api.recordedDevices("vm1")).hasSize(8);
    });
  }

  @Test
  void killedDuringADetach() throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(qemu(), dir, "vm1", 2);
    cleanup.add(vm1);
    startSidecar(List.of("vm1=" + vm1.qmpAddress()), "timeouts.detach=1s");
    inject("sidecar SIGKILL during a detach wait, restarted on its state", run -> {
      assertThat(call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\"}").status())
          .isEqualTo(201);
      Reply pending = run.bounded("the detach", send(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1", null),
          Duration.ofSeconds(1).plus(SLACK)).value();
      assertThat(pending.status()).as("no guest acks in qtest mode: %s", pending.body()).isEqualTo(202);
      restart();
      assertServes(run, "vm1");
      assertThat(deleted("nic1")).as("device.deleted before QEMU confirmed").isZero();
      assertRecordMatchesQemuOrDrift("vm1");
      assertThat(call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}").status()).isEqualTo(200);
      Await.until("the removal completes and the DPU hears it", () -> deleted("nic1") >= 1
          && api.recordedDevices("vm1").isEmpty());
      assertThat(api.qemuDevices("vm1")).isEmpty();
      assertThat(deleted("nic1")).as("device.deleted once").isEqualTo(1);
    });
  }

  @Test
  void killedDuringAMigration() throws Exception {
    QemuProcess src = QemuProcess.startQtest(qemu(), dir, "src", 2);
    cleanup.add(src);
    QemuProcess dst = QemuProcess.startQtest(qemu(), dir, "dst", 2, "-incoming", "defer");
    cleanup.add(dst);
    startSidecar(List.of("src=" + src.qmpAddress(), "dst=" + dst.qmpAddress()));
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    String body = "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:" + port
        + "\",\"strategy\":\"unplug-replug\",\"parameters\":{\"maxBandwidth\":2000}}";
    inject("sidecar SIGKILL mid-migration, restarted on its state", run -> {
      Reply started = run.bounded("POST migrations", send(HttpMethod.POST, "/v1/vms/src/migrations", body), SLACK).value();
      assertThat(started.status()).as("start: %s", started.body()).isEqualTo(202);
      Await.until("RAM is being sent", () -> {
        JsonNode m = call(HttpMethod.GET, "/v1/vms/src/migration", null).body();
        return m.path("state").asText().equals("MIGRATING")
            && m.path("source").path("progress").path("transferredBytes").asLong() > 0;
      });
      restart();
      assertServes(run, "src");
      assertServes(run, "dst");
      Reply after = run.bounded("GET migration after the restart", send(HttpMethod.GET, "/v1/vms/src/migration", null),
          SLACK).value();
      assertThat(after.status()).as("the restarted sidecar reports the migration QEMU still runs: %s", after.body())
          .isEqualTo(200);
      Reply cancel = run.bounded("DELETE migration", send(HttpMethod.DELETE, "/v1/vms/src/migration", null), SLACK).value();
      assertThat(cancel.status()).as("cancel the adopted migration: %s", cancel.body()).isEqualTo(202);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (received.stream().noneMatch(n -> n.method().equals("migration.status") && "src".equals(n.params().get("vm"))
          && List.of("cancelled", "failed").contains(n.params().get("status")))) {
        assertThat(System.nanoTime()).as("the DPU hears the adopted migration end within 30 s; the sidecar says %s;"
            + " the DPU got %s", call(HttpMethod.GET, "/v1/vms/src/migration", null).body(), received).isLessThan(deadline);
        Thread.sleep(50);
      }
      assertThat(received).as("the restarted sidecar told the DPU it adopted the migration").anyMatch(n ->
          n.method().equals("migration.coordination") && "src".equals(n.params().get("vm"))
              && String.valueOf(n.params().get("detail")).contains("when the sidecar connected"));
      Reply status = run.bounded("query-status on the source", send(HttpMethod.POST, "/v1/vms/src/qmp",
          "{\"execute\":\"query-status\"}"), SLACK).value();
      assertThat(status.body().path("return").path("status").asText()).as("the source runs on").isEqualTo("running");
    });
  }
}
