package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The subcommands' {@code --qmp} mode against a real QEMU in qtest mode, once per QEMU version.
 * The VM has a second QMP monitor ({@code vm-2.qmp}) through which the test plays the other
 * actors (adds devices, resets, stops) while a command holds the first one.
 */
class DirectQmpCommandIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private String qmp;
  private String other;

  @QemuTest
  void aMonitorHeldByAnotherClientIsNamedAsTheCause(QemuBinary binary) throws Exception {
    QemuProcess qemu = start(binary, "vm");
    try (SocketChannel holder = SocketChannel.open(UnixDomainSocketAddress.of(qemu.qmpAddress().unixPath()))) {
      holder.read(ByteBuffer.allocate(4096));
      Run run = cli("exec", "--qmp", qmp, "--timeout", "1", "query-status");
      assertThat(run.exit()).as(run.err()).isEqualTo(4);
      assertThat(run.err()).contains("sent no greeting within 1000 ms: another client may hold the monitor",
          "connect through the sidecar's proxy socket");
    }
    assertThat(cli("exec", "--qmp", qmp, "query-status").exit()).as("free once the other client left").isZero();
  }

  /**
   * A socket QEMU made that this user may not open: the message says so, with the socket's owner,
   * group and mode, instead of asking to check -qmp. Root opens any socket, so as root the CLI
   * runs as user nobody (setpriv), through bin/qmp-sidecar as a user starts it.
   */
  @QemuTest
  void aSocketThatDeniesTheUserSaysPermissionDenied(QemuBinary binary) throws Exception {
    QemuProcess qemu = start(binary, "vm");
    Path socket = qemu.qmpAddress().unixPath();
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
    List<String> command = new ArrayList<>();
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      command.addAll(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
    }
    command.addAll(List.of(Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize().toString(),
        "exec", "--qmp", "unix:" + socket, "query-status"));
    Process cli = new ProcessBuilder(command).redirectErrorStream(true).start();
    String said = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(cli.waitFor(60, TimeUnit.SECONDS)).as("the CLI ends").isTrue();
    assertThat(cli.exitValue()).as(said).isEqualTo(4);
    String owner = Files.getOwner(socket).getName();
    assertThat(said).startsWith("permission denied: " + socket + " (owner " + owner + ", group ")
        .contains("mode rw-------) for user " + (root ? "nobody" : System.getProperty("user.name")),
            "only " + owner + " may connect: run as " + owner)
        .doesNotContain("-qmp");
  }

  /** One CLI run: exit code and what it printed. */

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  private QemuProcess start(QemuBinary binary, String name, String... extra) {
    Path second = dir.resolve(name + "-2.qmp");
    List<String> args = new ArrayList<>(List.of("-qmp", "unix:" + second + ",server=on,wait=off"));
    args.addAll(List.of(extra));
    QemuProcess qemu = QemuProcess.startQtest(binary, dir, name, 2, args.toArray(new String[0]));
    cleanup.add(qemu);
    Await.until("the second monitor listens", () -> QemuProcess.listening(second));
    qmp = qemu.qmpAddress().toString();
    other = "unix:" + second;
    return qemu;
  }

  private Run cli(String... args) {
    return CliRunner.run(args);
  }

  private Run cli(StringWriter out, String... args) {
    return CliRunner.run(out, args);
  }

  /** A command on the second monitor, as another client of QEMU would send it. */
  private void other(String... command) {
    List<String> args = new ArrayList<>(List.of("exec", "--qmp", other));
    args.addAll(List.of(command));
    Run run = cli(args.toArray(new String[0]));
    assertThat(run.exit()).as("%s: %s", args, run.err()).isEqualTo(0);
  }

  /** Runs the command while {@code actor} repeats every 200 ms, until the command ends (at most 30 s). */
  private Run whileRepeating(Runnable actor, String... args) throws Exception {
    CompletableFuture<Run> run = CompletableFuture.supplyAsync(() -> cli(args));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!run.isDone() && System.nanoTime() < deadline) {
      actor.run();
      Thread.sleep(200);
    }
    return run.get(10, TimeUnit.SECONDS);
  }

  @QemuTest
  void vmsShowsTheOneVmWithItsRunStateAndVersion(QemuBinary binary) throws Exception {
    start(binary, "vm");
    Run table = cli("vms", "--qmp", qmp);
    assertThat(table.exit()).as(table.err()).isEqualTo(0);
    assertThat(table.out().lines().map(l -> List.of(l.split(" +")))).containsExactly(
        List.of("qmp", "state", "qemu", "status"), List.of(qmp, "ready", binary.version(), "running"));
    other("stop");
    JsonNode json = JSON.readTree(cli("vms", "--qmp", qmp, "--output", "json").out());
    assertThat(json).hasSize(1);
    assertThat(json.get(0).path("status").asText()).isEqualTo("paused");
    assertThat(json.get(0).path("running").asBoolean(true)).isFalse();
  }

  @QemuTest
  void devicesListShowsQemusDevicesWithTheirRootPortAndGuestAddress(QemuBinary binary) throws Exception {
    start(binary, "vm");
    other("device_add", "driver=e1000e", "id=nic1", "bus=rp2");
    // query-pci shows a device behind a root port once the firmware has numbered the port's bus:
    // SeaBIOS under TCG may still be at it on a loaded machine.
    Run[] listed = {null};
    Await.until("SeaBIOS has numbered the root ports' buses", () -> {
      listed[0] = cli("devices", "list", "--qmp", qmp);
      return listed[0].out().contains("02:00.0");
    });
    Run list = listed[0];
    assertThat(list.exit()).as(list.err()).isEqualTo(0);
    List<List<String>> rows = list.out().lines().map(l -> List.of(l.split(" +"))).toList();
    assertThat(rows).hasSize(4);
    assertThat(rows.get(0)).containsExactly("id", "driver", "rootPort", "guestAddress");
    assertThat(rows.get(1)).containsExactly("nic1", "e1000e", "rp2", "02:00.0");
    assertThat(rows.get(2)).startsWith("rp1", "pcie-root-port", "-");
    assertThat(rows.get(3)).startsWith("rp2", "pcie-root-port", "-");
    assertThat(rows.get(2).get(3)).matches("00:[0-9a-f]{2}\\.0");

    JsonNode json = JSON.readTree(cli("devices", "list", "vm1", "--qmp", qmp, "--output", "json").out());
    assertThat(json.get(0).toString()).isEqualTo("{\"id\":\"nic1\",\"driver\":\"e1000e\",\"rootPort\":\"rp2\","
        + "\"guestAddress\":\"02:00.0\"}");
    assertThat(json.get(1).path("rootPort").isNull()).isTrue();
  }

  @QemuTest
  void devicesListNamesTheRootPortBeforeTheFirmwareNumberedIt(QemuBinary binary) throws Exception {
    // -S: the firmware never runs, so the root ports' buses stay unnumbered and query-pci lists
    // nothing behind them, as right after a reset.
    start(binary, "vm", "-S");
    other("device_add", "driver=e1000e", "id=nic1", "bus=rp2");
    Run list = cli("devices", "list", "--qmp", qmp);
    assertThat(list.exit()).as(list.err()).isEqualTo(0);
    List<List<String>> rows = list.out().lines().map(l -> List.of(l.split(" +"))).toList();
    assertThat(rows.get(1)).containsExactly("nic1", "e1000e", "rp2", "-");
    assertThat(rows.get(2)).startsWith("rp1", "pcie-root-port", "-");
  }

  @QemuTest
  void detachWaitsForDeviceDeletedThatAResetBrings(QemuBinary binary) throws Exception {
    start(binary, "vm");
    other("device_add", "driver=e1000e", "id=nic1", "bus=rp1");
    // The qtest machine has no guest: QEMU completes the unplug on a reset.
    Run detach = whileRepeating(() -> other("system_reset"), "devices", "detach", "vm1", "nic1", "--qmp", qmp,
        "--timeout", "20");
    assertThat(detach.exit()).as(detach.err()).isEqualTo(0);
    assertThat(detach.out().strip()).isEqualTo("DETACHED: nic1 is gone (DEVICE_DELETED)");
    assertThat(cli("devices", "list", "--qmp", qmp).out()).doesNotContain("nic1");

    Run again = cli("devices", "detach", "--qmp", qmp, "nic1");
    assertThat(again.exit()).isEqualTo(0);
    assertThat(again.out().strip()).isEqualTo("NOT_FOUND: QEMU has no device nic1");
  }

  @QemuTest
  void aDetachTheGuestDoesNotCompleteIsPendingOrWithWaitExitsFour(QemuBinary binary) throws Exception {
    start(binary, "vm", "-device", "pcie-root-port,id=rp3,bus=pcie.0,chassis=3,slot=3");
    other("device_add", "driver=e1000e", "id=nic1", "bus=rp1");
    Run pending = cli("devices", "detach", "--qmp", qmp, "nic1", "--timeout", "1");
    assertThat(pending.exit()).as(pending.err()).isEqualTo(0);
    assertThat(pending.out().lines()).containsExactly(
        "PENDING: the guest has not released nic1 within 1 s; QEMU removes it when the guest does and emits DEVICE_DELETED",
        "completion follows as DEVICE_DELETED: qmp-sidecar events --qmp " + qmp
            + " --follow --type DEVICE_DELETED --data device=nic1 --limit 1");

    other("device_add", "driver=e1000e", "id=nic3", "bus=rp3");
    Run byPath = cli("devices", "detach", "--qmp", qmp, "/machine/peripheral/nic3", "--timeout", "1");
    assertThat(byPath.out().lines()).as("a QOM path is in DEVICE_DELETED's path, not its device").last()
        .isEqualTo("completion follows as DEVICE_DELETED: qmp-sidecar events --qmp " + qmp
            + " --follow --type DEVICE_DELETED --data path=/machine/peripheral/nic3 --limit 1");

    other("device_add", "driver=e1000e", "id=nic2", "bus=rp2");
    Run waited = cli("devices", "detach", "vm1", "nic2", "--qmp", qmp, "--wait", "--timeout", "1");
    assertThat(waited.exit()).isEqualTo(4);
    assertThat(waited.err().strip()).isEqualTo("nic2 is still attached to vm1 after 1 s: the guest has not released it;"
        + " check the guest (or reset the VM), or raise --timeout");

    // The follower may connect after the first reset has completed nic1's unplug (its JVM starts
    // slowly on a loaded machine): until it has caught one, plug nic1 again and unplug it once more.
    // (device_add fails while nic1 is still there.)
    Run completion = whileRepeating(() -> {
      if (cli("exec", "--qmp", other, "device_add", "driver=e1000e", "id=nic1", "bus=rp1").exit() == 0) {
        other("device_del", "id=nic1");
      }
      other("system_reset");
    }, "events", "--qmp", qmp, "--follow", "--type", "DEVICE_DELETED", "--data", "device=nic1", "--limit", "1",
        "--max-time", "20");
    assertThat(completion.exit()).as(completion.err()).isEqualTo(0);
    assertThat(JSON.readTree(completion.out()).path("data").path("device").asText()).isEqualTo("nic1");
  }

  @QemuTest
  void eventsFollowSeesStopAndResume(QemuBinary binary) throws Exception {
    start(binary, "vm");
    boolean[] running = {true};
    Run events = whileRepeating(() -> {
      other(running[0] ? "stop" : "cont");
      running[0] = !running[0];
    }, "events", "--qmp", qmp, "--vm", "vm1", "--follow", "--type", "STOP,qmp.RESUME", "--limit", "2", "--max-time", "20");
    assertThat(events.exit()).as(events.err()).isEqualTo(0);
    List<JsonNode> lines = events.out().lines().map(DirectQmpCommandIT::json).toList();
    assertThat(lines).extracting(e -> e.path("type").asText()).containsExactlyInAnyOrder("qmp.STOP", "qmp.RESUME");
    assertThat(lines).allSatisfy(e -> {
      assertThat(e.path("vm").asText()).isEqualTo("vm1");
      assertThat(e.has("id")).isFalse();
      assertThat(e.path("time").asText()).isEqualTo(e.path("data").path("qemuTimestamp").asText()).endsWith("Z");
    });
  }

  @QemuTest
  void migrateStatusAndCancelOnAVmThatNeverMigrated(QemuBinary binary) {
    start(binary, "vm");
    Run status = cli("migrate", "status", "--qmp", qmp);
    assertThat(status.exit()).isEqualTo(1);
    assertThat(status.err().strip()).isEqualTo("No migration: QEMU at " + qmp + " has not migrated since it started");
    Run cancel = cli("migrate", "cancel", "vm1", "--qmp", qmp);
    assertThat(cancel.exit()).isEqualTo(1);
    assertThat(cancel.err().strip()).isEqualTo("nothing to cancel: vm1 has not migrated since it started;"
        + " qmp-sidecar migrate status vm1 --qmp " + qmp + " shows it");
  }

  @QemuTest
  void migrateStartFollowsAPlainMigrationUntilCompleted(QemuBinary binary) throws Exception {
    QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 2, "-incoming", "defer");
    cleanup.add(dst);
    String uri = uri();
    assertThat(cli("exec", "--qmp", dst.qmpAddress().toString(), "migrate-incoming", "uri=" + uri).exit()).isEqualTo(0);
    start(binary, "src");

    Run run = cli("migrate", "start", "--qmp", qmp, "--uri", uri, "--downtime-limit", "300", "--follow");
    assertThat(run.exit()).as(run.err()).isEqualTo(0);
    List<String> lines = run.out().lines().toList();
    assertThat(lines).as("a plain line per change, no bar without a terminal").isNotEmpty()
        .allSatisfy(l -> assertThat(l).doesNotContain("\r", "[#")).doesNotHaveDuplicates();
    assertThat(lines.get(lines.size() - 1)).startsWith("COMPLETED 100% of 64.");

    Run status = cli("migrate", "status", "--qmp", qmp);
    assertThat(status.exit()).isEqualTo(0);
    assertThat(status.out()).containsPattern("(?m)^state +COMPLETED$").containsPattern("(?m)^qemuStatus +completed$")
        .containsPattern("(?m)^total +64\\.\\d MiB$").containsPattern("(?m)^downtimeMs +\\d+$")
        .doesNotContainPattern("(?m)^(vm|destination|phase) ");
    assertThat(cli("exec", "--qmp", dst.qmpAddress().toString(), "query-status").out()).contains("\"running\" : true");

    Run cancel = cli("migrate", "cancel", "--qmp", qmp);
    assertThat(cancel.exit()).isEqualTo(1);
    assertThat(cancel.err().strip()).isEqualTo("nothing to cancel: the migration of QEMU at " + qmp
        + " already ended COMPLETED; qmp-sidecar migrate status --qmp " + qmp + " shows it");
  }

  @QemuTest
  void cancelEndsAPlainMigrationAndFollowReportsCancelledWithExitOne(QemuBinary binary) throws Exception {
    QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 2, "-incoming", "defer");
    cleanup.add(dst);
    String uri = uri();
    assertThat(cli("exec", "--qmp", dst.qmpAddress().toString(), "migrate-incoming", "uri=" + uri).exit()).isEqualTo(0);
    start(binary, "src");

    Run started = cli("migrate", "start", "src", "--qmp", qmp, "--uri", uri, "--max-bandwidth", "1000");
    assertThat(started.exit()).as(started.err()).isEqualTo(0);
    assertThat(started.out()).startsWith("started: src -> " + uri + " ");
    Run again = cli("migrate", "start", "--qmp", qmp, "--uri", uri);
    assertThat(again.exit()).isEqualTo(1);
    assertThat(again.err()).startsWith("The migration was refused: QEMU at " + qmp + " is already migrating");

    Run cancel = cli("migrate", "cancel", "src", "--qmp", qmp);
    assertThat(cancel.exit()).as(cancel.err()).isEqualTo(0);
    assertThat(cancel.out()).matches("cancel requested: src CANCELL(ING|ED)( .*)?\\R");

    Run follow = cli("migrate", "status", "src", "--qmp", qmp, "--follow", "--max-time", "30");
    assertThat(follow.exit()).as(follow.out()).isEqualTo(1);
    assertThat(follow.out().lines().reduce((a, b) -> b).orElseThrow()).startsWith("CANCELLED");
    assertThat(follow.err().strip()).isEqualTo("the migration of src ended CANCELLED");
  }

  @QemuTest
  void sigtermAndCtrlCEndAFollowCleanlyAndFreeTheMonitor(QemuBinary binary) throws Exception {
    start(binary, "vm");
    for (String signal : List.of("TERM", "INT")) {
      Process cli = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
          Path.of("target/qmp-sidecar.jar").toAbsolutePath().toString(), "events", "--qmp", qmp, "--follow", "--type", "STOP")
          .start();
      Supplier<String> out = drain(cli.getInputStream());
      Supplier<String> err = drain(cli.getErrorStream());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (out.get().isEmpty() && System.nanoTime() < deadline) {
        other("stop");
        other("cont");
        Thread.sleep(200);
      }
      assertThat(out.get()).as("a STOP printed before the signal; err: %s", err.get()).contains("\"type\":\"qmp.STOP\"");
      assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(cli.pid())).start().waitFor()).isEqualTo(0);
      assertThat(cli.waitFor(10, TimeUnit.SECONDS)).as("ended on SIG%s", signal).isTrue();
      assertThat(cli.exitValue()).isEqualTo(signal.equals("TERM") ? 143 : 130);
      assertThat(out.get()).as("whole lines only").endsWith("}\n");
      assertThat(err.get()).as("nothing on stderr").isEmpty();
      Run after = cli("exec", "--qmp", qmp, "query-status");
      assertThat(after.exit()).as("QEMU's monitor serves the next client: %s", after.err()).isEqualTo(0);
    }
  }

  /** Reads a stream to its end on a thread of its own; the supplier gives what was read so far. */
  private static Supplier<String> drain(InputStream in) {
    StringBuffer text = new StringBuffer();
    Thread reader = new Thread(() -> {
      try {
        byte[] buffer = new byte[4096];
        for (int n; (n = in.read(buffer)) > 0; ) {
          text.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    reader.setDaemon(true);
    reader.start();
    return text::toString;
  }

  private static String uri() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "tcp:127.0.0.1:" + s.getLocalPort();
    }
  }

  private static JsonNode json(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw new AssertionError("not a JSON line: " + line, e);
    }
  }
}
