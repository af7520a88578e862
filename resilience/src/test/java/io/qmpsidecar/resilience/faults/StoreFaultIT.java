package io.qmpsidecar.resilience.faults;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state store's disk read-only or full, and the policy file replaced by an invalid one. The
 * tests run as root, for whom file modes do not stop a write: a read-only state directory is made
 * with the immutable attribute ({@code chattr +i}), and a full disk is a small tmpfs mounted on
 * the state directory and filled up. Both need root (CAP_LINUX_IMMUTABLE, CAP_SYS_ADMIN) and
 * fail, not skip, without it.
 */
class StoreFaultIT {
  private static final String STOP_DENIED = """
      version: 1
      name: v1
      rules:
        - {id: no-stop, effect: deny, callers: ["*"], commands: [stop], reason: stop is not allowed in v1}
        - {id: rest, effect: allow, callers: ["*"], commands: ["*"], reason: everything else}
      """;
  private static final Duration SLACK = Duration.ofSeconds(3);
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();

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

  private static QemuBinary qemu() {
    return QemuBinaries.all().get(0);
  }

  /** Runs a tool the test needs (chattr, mount, umount) and fails naming it when it does not succeed. */
  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("%s finished", String.join(" ", command)).isTrue();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.exitValue()).as("%s: %s", String.join(" ", command), out).isZero();
  }

  private SidecarConfig config(Path stateDir, Path policy, List<String> vms, String... sets) {
    List<String> keys = new ArrayList<>(List.of("api.socket=" + dir.resolve("api.sock"), "stateDir=" + stateDir,
        "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy));
    keys.addAll(List.of(sets));
    return ConfigLoader.load(null, Map.of(), keys, vms);
  }

  private void inject(String fault, FaultRun.Body body) throws Exception {
    FaultRun.inject(fault, received, "the DPU's received log", body);
  }

  @Test
  void readOnlyStateDirectory() throws Exception {
    Path state = Files.createDirectories(dir.resolve("state"));
    run("chattr", "+i", state.toString());
    cleanup.add(() -> run("chattr", "-i", state.toString()));
    assertThatThrownBy(() -> Files.createFile(state.resolve("probe"))).as("root cannot write an immutable directory")
        .isInstanceOf(IOException.class);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), STOP_DENIED);
    inject("state directory read-only (chattr +i) at start", run -> {
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> Sidecar.start(config(state, policy, List.of()), Duration.ofSeconds(10)).stop())
          .as("a clear start-up error naming the path")
          .hasStackTraceContaining(state.toString());
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("the start fails within its bound")
          .isLessThan(Duration.ofSeconds(10).plus(SLACK));
    });
  }

  @Test
  void fullDiskDuringAnAttach() throws Exception {
    FaultApi api = sidecarOnASmallDisk();
    inject("state store disk full during an attach", run -> {
      attachOnAFullDisk(run, api);
      Reply status = run.bounded("query-status with the disk full", api.send(HttpMethod.POST, "/v1/vms/vm1/qmp",
          "{\"execute\":\"query-status\"}"), SLACK).value();
      assertThat(status.status()).as("the sidecar keeps serving: %s", status.body()).isEqualTo(200);
    });
  }

  @Test
  void theStoreRecoversOnceSpaceIsFreed() throws Exception {
    FaultApi api = sidecarOnASmallDisk();
    inject("state store disk full, then space freed", run -> {
      attachOnAFullDisk(run, api);
      Files.delete(dir.resolve("state").resolve("filler"));
      Await.until("the store works again once space is freed",
          () -> api.call(HttpMethod.GET, "/v1/vms/vm1/devices", null).status() == 200);
      Reply again = run.bounded("the attach with space again", api.send(HttpMethod.POST, "/v1/vms/vm1/devices",
          "{\"driver\":\"e1000e\",\"id\":\"nic1\"}"), Duration.ofSeconds(60).plus(SLACK)).value();
      assertThat(again.status()).as("attach after space is freed: %s", again.body()).isEqualTo(201);
    });
  }

  /** A sidecar with its DPU link whose state directory is a 2 MiB tmpfs; vm1 ready. */
  private FaultApi sidecarOnASmallDisk() throws Exception {
    DpuEndpoint dpu = result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withPort(0)));
    cleanup.add(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    Path state = Files.createDirectories(dir.resolve("state"));
    run("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state.toString());
    cleanup.add(() -> run("umount", "-l", state.toString()));
    QemuProcess vm1 = QemuProcess.startQtest(qemu(), dir, "vm1", 2);
    cleanup.add(vm1);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), STOP_DENIED);
    Sidecar sidecar = Sidecar.start(config(state, policy, List.of("vm1=" + vm1.qmpAddress()),
        "relay.url=ws://127.0.0.1:" + dpu.actualPort(), "relay.hostId=host-1", "timeouts.detach=1s"), Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    FaultApi api = new FaultApi(vertx, dir.resolve("api.sock"));
    Await.until("vm1 is ready and the DPU link up", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200
        && dpu.connectedHosts().contains("host-1"));
    return api;
  }

  /** Fills the state directory's disk. */
  private void fillTheDisk() throws IOException {
    try (OutputStream out = Files.newOutputStream(dir.resolve("state").resolve("filler"))) {
      byte[] block = new byte[64 * 1024];
      for (int i = 0; i < 64; i++) {
        out.write(block);
      }
    } catch (IOException full) {
      assertThat(full).hasMessageContaining("No space left");
    }
  }

  /**
   * Fills the state directory's disk, then attaches: the attach's intent cannot be stored, so it
   * fails within its bound with a clear error before anything changed in QEMU.
   */
  private void attachOnAFullDisk(FaultRun run, FaultApi api) throws Exception {
    fillTheDisk();
    Reply attach = run.bounded("an attach with the disk full", api.send(HttpMethod.POST, "/v1/vms/vm1/devices",
        "{\"driver\":\"e1000e\",\"id\":\"nic1\"}"), Duration.ofSeconds(60).plus(SLACK)).value();
    assertThat(attach.status()).as("attach on a full disk: %s", attach.body()).isGreaterThanOrEqualTo(500);
    assertThat(attach.body().toString()).as("a clear error").contains("disk");
    assertThat(api.qemuDevices("vm1")).as("nothing was added: %s", attach.body()).isEmpty();
    assertThat(api.call(HttpMethod.GET, "/healthz", null).status()).isEqualTo(200);
  }

  /**
   * The disk fills between an attach and its detach: the removal is watched all the same,
   * device.detached is published when the guest releases the device (saying it is not recorded
   * yet), and once there is room again the record follows QEMU: no ghost stays attached.
   */
  @Test
  void fullDiskDuringADetachLeavesNoGhostRecord() throws Exception {
    FaultApi api = sidecarOnASmallDisk();
    inject("state store disk full during a detach, then space freed", run -> {
      assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\"}")
          .status()).isEqualTo(201);
      fillTheDisk();
      Reply detach = run.bounded("a detach with the disk full", api.send(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1",
          null), Duration.ofSeconds(1).plus(SLACK)).value();
      assertThat(detach.status()).as("no guest acks in qtest mode: %s", detach.body()).isEqualTo(202);
      assertThat(detach.body().path("detail").asText()).contains("could not record the pending removal");
      assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}").status())
          .isEqualTo(200);
      StringBuffer events = new StringBuffer();
      api.stream("/v1/events?format=ndjson&since=0&type=device.detached", events);
      Await.until("the sidecar publishes that the device is gone, unrecorded", () -> events.toString()
          .contains("\"id\":\"nic1\"") && events.toString().contains("\"recorded\":false"));
      assertThat(api.qemuDevices("vm1")).isEmpty();
      Files.delete(dir.resolve("state").resolve("filler"));
      Await.until("the record follows QEMU once there is room", () -> api.recordedDevices("vm1").isEmpty());
    });
  }

  @Test
  void policyReplacedByAnInvalidOneDuringReload() throws Exception {
    QemuProcess vm1 = QemuProcess.startQtest(qemu(), dir, "vm1", 1);
    cleanup.add(vm1);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), STOP_DENIED);
    Path state = dir.resolve("state");
    Sidecar sidecar = Sidecar.start(config(state, policy, List.of("vm1=" + vm1.qmpAddress())), Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    FaultApi api = new FaultApi(vertx, dir.resolve("api.sock"));
    Await.until("vm1 is ready", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200);
    inject("policy file replaced by an invalid one, then reloaded", run -> {
      Path broken = Files.writeString(dir.resolve("policy.yaml.new"), "version: 1\nrules: [ {id: broken");
      Files.move(broken, policy, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      // What SIGHUP runs: the configuration's one validator compiles the policy, and refuses it
      // with its place before anything is applied.
      assertThatThrownBy(() -> sidecar.reload(config(state, policy, List.of("vm1=" + vm1.qmpAddress()))))
          .isInstanceOfSatisfying(SidecarException.class, e -> assertThat(e.code()).isEqualTo("config-invalid"))
          .hasMessageContaining("policy.file: " + policy + ":2:");
      Reply stop = run.bounded("stop under the old policy", api.send(HttpMethod.POST, "/v1/vms/vm1/qmp",
          "{\"execute\":\"stop\"}"), SLACK).value();
      assertThat(stop.status()).as("the old policy stays: %s", stop.body()).isEqualTo(403);
      Reply status = run.bounded("query-status", api.send(HttpMethod.POST, "/v1/vms/vm1/qmp",
          "{\"execute\":\"query-status\"}"), SLACK).value();
      assertThat(status.status()).isEqualTo(200);
    });
  }
}
