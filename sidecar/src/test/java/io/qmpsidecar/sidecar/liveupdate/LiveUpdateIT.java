package io.qmpsidecar.sidecar.liveupdate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.FlowTestPolicy;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Live update against real QEMUs: a guest-less VM (qtest) launched CPR-ready, its RAM marked
 * through qtest and a device hot-plugged by the sidecar, handed to the newest QEMU of the matrix
 * (10.0 to 11.1, 11.1 to 11.1); and each point where an update can fail, rolled back with the old
 * QEMU running on.
 */
class LiveUpdateIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Guest-physical addresses the test marks (1 MiB and 40 MiB into the 64 MiB of RAM). */
  private static final long[] MARKS = {0x100000L, 0x2800000L};

  /** What the configured launcher adds to the new QEMU's environment. */
  private static final String LAUNCHED = "QMP_SIDECAR_TEST_LAUNCHER=env";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private QemuProcess qemu;
  private TestConfig config;
  private final List<Long> started = new ArrayList<>();

  @AfterEach
  void killNewQemus() {
    started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  /** The newest QEMU in the matrix: what the VM is updated to. */
  private static QemuBinary newest() {
    return QemuBinaries.all().stream().max(Comparator.comparing(QemuBinary::major)
        .thenComparing(QemuBinary::version)).orElseThrow();
  }

  /** The policy rule docs/live-update.md gives for the API's Unix socket, as the docs show it. */
  private static String liveUpdateRule() throws Exception {
    return Files.readString(Path.of("../docs/live-update.md"))
        .replaceAll("(?s).*```yaml\n(  - id: live-update-local.*?)```.*", "$1");
  }

  private static QemuBinary oldest() {
    return QemuBinaries.all().stream().min(Comparator.comparing(QemuBinary::major)).orElseThrow();
  }

  private void start(QemuBinary binary, boolean cprReady) throws Exception {
    String[] extra = cprReady ? new String[] {"-object", "memory-backend-memfd,id=ram0,size=64M,share=on",
        "-machine", "memory-backend=ram0,aux-ram-share=on", "-pidfile", pidFile().toString()} : new String[0];
    qemu = harness.qemu(binary, "vm1", 2, extra);
    config = harness.config().vm("vm1", qemu).policyFile(FlowTestPolicy.write(harness.dir(), liveUpdateRule()))
        .set("liveUpdate.launcher", "/usr/bin/env," + LAUNCHED)
        .set("liveUpdate.binaries", String.join(",", newest().path().toString(), oldest().path().toString(),
            harness.dir().resolve("dies.sh").toString(), harness.dir().resolve("clash.sh").toString()));
    harness.start(config);
    Await.until("vm1 is ready", () -> cli("vms", "--output", "json").out().contains("\"ready\""));
    Await.until("the proxy socket exists", () -> Files.exists(config.proxyDir().resolve("vm1.qmp")));
  }

  private Run cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--api=unix:" + config.apiSocket());
    return CliRunner.run(all.toArray(new String[0]));
  }

  /** The pid file a launch-ready VM's QEMU writes and locks. */
  private Path pidFile() {
    return harness.dir().resolve("vm1.pid");
  }

  /** What the pid file says; empty while it is missing (between the old QEMU's exit and the rename). */
  private String pidInFile() {
    try {
      return Files.readString(pidFile()).strip();
    } catch (IOException e) {
      return "";
    }
  }

  private Path qtestSocket() {
    return harness.dir().resolve("vm1.qtest");
  }

  /** One qtest command on a fresh connection to the VM's qtest socket, and its answer. */
  private String qtest(String command) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(qtestSocket()));
      Writer out = new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.US_ASCII);
      BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.US_ASCII));
      out.write(command + "\n");
      out.flush();
      return in.readLine();
    }
  }

  /** A QMP command through the VM's proxy socket (the sidecar's connection, wherever its QEMU is now). */
  private Run exec(String command) {
    return CliRunner.run("exec", "--qmp", "unix:" + config.proxyDir().resolve("vm1.qmp"), command);
  }

  private String mode() {
    Run params = exec("query-migrate-parameters");
    assertThat(params.exit()).as(params.err()).isEqualTo(0);
    return json(params.out()).path("mode").asText();
  }

  private List<String> eventTypes() {
    Run events = cli("events", "--vm", "vm1");
    assertThat(events.exit()).as(events.err()).isEqualTo(0);
    return events.out().lines().map(l -> json(l).path("type").asText()).toList();
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  /** A stand-in binary: answers --version as {@code real} does, and otherwise runs {@code body}. */
  private Path wrapper(String name, QemuBinary real, String body) throws Exception {
    Path script = harness.dir().resolve(name);
    Files.writeString(script, "#!/bin/sh\nif [ \"$1\" = --version ]; then exec " + real.path() + " --version; fi\n"
        + body + "\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
    return script;
  }

  @QemuTest
  void theNewQemuRunsTheGuestWithItsRamAndDevicesAndTheSidecarFollowsIt(QemuBinary binary) throws Exception {
    assumeTrue(binary.major() >= 10, "QEMU " + binary.version() + " has no cpr-transfer: see the refusal test");
    QemuBinary to = newest();
    start(binary, true);
    mark(0x5a5a00000000L);
    Run attach = cli("devices", "attach", "vm1", "--driver", "e1000e", "--id", "nic1");
    assertThat(attach.exit()).as(attach.err()).isEqualTo(0);
    long oldPid = qemu.pid();

    Run update = cli("vms", "update", "vm1", "--qemu", to.path().toString(), "--output", "json");

    assertThat(update.exit()).as(update.err()).isEqualTo(0);
    JsonNode r = json(update.out());
    started.add(r.path("newPid").asLong());
    assertThat(r.path("oldPid").asLong()).isEqualTo(oldPid);
    assertThat(r.path("newPid").asLong()).isPositive().isNotEqualTo(oldPid);
    assertThat(r.path("oldVersion").asText()).isEqualTo(binary.version());
    assertThat(r.path("newVersion").asText()).isEqualTo(to.version());
    assertThat(r.path("machineType").asText()).startsWith("pc-q35-" + binary.major() + ".");
    assertThat(r.path("devices")).extracting(JsonNode::asText).containsExactly("nic1");
    assertThat(r.path("downtimeMs").asLong()).isNotNegative();
    System.out.printf("QEMU %s -> %s: downtime %d ms (QEMU's), switchover %d ms, update %d ms%n", binary.version(),
        to.version(), r.path("downtimeMs").asLong(), r.path("switchoverMs").asLong(), r.path("totalMs").asLong());

    Await.until("the old QEMU exits", () -> !qemu.isAlive());
    Await.until("the pid file names the new QEMU", () -> pidInFile().equals(r.path("newPid").asText()));
    assertMarked(0x5a5a00000000L);
    assertThat(Files.readString(Path.of("/proc/" + r.path("newPid").asLong() + "/environ")).split("\0"))
        .as("the new QEMU was started through liveUpdate.launcher").contains(LAUNCHED);
    Run vms = cli("vms", "--output", "json");
    assertThat(json(vms.out()).get(0).path("qemu").asText()).isEqualTo(to.version());
    Run list = cli("devices", "list", "vm1");
    assertThat(list.out()).containsPattern("(?m)^nic1 +e1000e +");
    Run status = exec("query-status");
    assertThat(json(status.out()).path("status").asText()).isEqualTo("running");
    assertThat(mode()).as("the new QEMU's migration mode").isEqualTo("normal");

    List<String> types = eventTypes();
    assertThat(types).contains("liveupdate.started", "liveupdate.completed", "liveupdate.old-qemu-event")
        .doesNotContain("liveupdate.failed", "qmp.SHUTDOWN", "qmp.STOP", "detach.requested", "device.detached");
    assertThat(types.indexOf("liveupdate.started")).isLessThan(types.indexOf("liveupdate.completed"));

    // Again: the QEMU now running was started by the first update, and the kernel still names its
    // monitor socket by the temporary path it was bound to.
    Run again = cli("vms", "update", "vm1", "--qemu", to.path().toString(), "--output", "json");
    assertThat(again.exit()).as(again.err()).isEqualTo(0);
    JsonNode second = json(again.out());
    started.add(second.path("newPid").asLong());
    assertThat(second.path("oldPid").asLong()).isEqualTo(r.path("newPid").asLong());
    assertThat(second.path("devices")).extracting(JsonNode::asText).containsExactly("nic1");
    Await.until("the first update's QEMU exits", () -> !Files.exists(Path.of("/proc/" + r.path("newPid").asLong())));
    Await.until("the pid file names the second update's QEMU",
        () -> pidInFile().equals(second.path("newPid").asText()));
    assertMarked(0x5a5a00000000L);
    Run after = exec("query-status");
    assertThat(after.exit()).as("the proxy reaches the second update's QEMU at once: " + after.err()).isEqualTo(0);
    assertThat(json(after.out()).path("status").asText()).isEqualTo("running");
  }

  /** The default preset lets no API caller live-update: the refusal docs/live-update.md quotes. */
  @QemuTest
  void theDefaultPresetDeniesTheApisCallerALiveUpdate(QemuBinary binary) throws Exception {
    qemu = harness.qemu(binary, "vm1", 2);
    config = harness.config().vm("vm1", qemu);
    harness.start(config);
    Await.until("vm1 is ready", () -> cli("vms", "--output", "json").out().contains("\"ready\""));

    Run update = cli("vms", "update", "vm1");

    assertThat(update.exit()).as(update.err()).isEqualTo(3);
    assertThat(update.err()).contains("Denied by policy: api:local may not live-update VM vm1: denied by rule default: ");
    assertThat(eventTypes()).doesNotContain("liveupdate.started");
  }

  @QemuTest
  void aPrepareHookThatRefusesStopsTheUpdateBeforeAnythingIsRead(QemuBinary binary) throws Exception {
    Path freeze = harness.dir().resolve("freeze");
    Path asked = harness.dir().resolve("asked.jsonl");
    Files.writeString(freeze, "#!/bin/sh\ncat >> " + asked + "\necho >> " + asked + "\n"
        + "echo \"live updates are frozen on $QMP_SIDECAR_VM ($QMP_SIDECAR_OPERATION)\" >&2\nexit 1\n");
    Files.setPosixFilePermissions(freeze, PosixFilePermissions.fromString("rwx------"));
    Path hooks = Files.writeString(harness.dir().resolve("hooks.yaml"),
        "hooks:\n  - {name: freeze, prepare: [live-update], run: [" + freeze + "]}\n");
    qemu = harness.qemu(binary, "vm1", 2);
    config = harness.config().file(hooks).vm("vm1", qemu)
        .policyFile(FlowTestPolicy.write(harness.dir(), liveUpdateRule()))
        .set("liveUpdate.binaries", newest().path().toString());
    harness.start(config);
    Await.until("vm1 is ready", () -> cli("vms", "--output", "json").out().contains("\"ready\""));

    Run update = cli("vms", "update", "vm1", "--qemu", newest().path().toString());

    assertThat(update.exit()).isEqualTo(3);
    assertThat(update.err()).contains("the prepare hook freeze refused the live update of VM vm1 to "
        + newest().path() + ": live updates are frozen on vm1 (live-update)");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(eventTypes()).contains("hook.refused").doesNotContain("liveupdate.started", "liveupdate.failed");

    assertThat(cli("vms", "update", "vm1").exit()).as("without --qemu, refused too").isEqualTo(3);
    List<JsonNode> requests = Files.readAllLines(asked).stream().filter(l -> !l.isBlank()).map(LiveUpdateIT::json)
        .map(operation -> operation.path("request")).toList();
    assertThat(requests).as("the request the hook was asked about, with --qemu and without")
        .containsExactly(JSON.createObjectNode().put("qemu", newest().path().toString()), JSON.createObjectNode());
  }

  @QemuTest
  void aVmThatCannotBeHandedOverIsRefusedAndNothingChanges(QemuBinary binary) throws Exception {
    start(binary, false);

    Run update = cli("vms", "update", "vm1", "--qemu", newest().path().toString());

    assertThat(update.exit()).isEqualTo(1);
    assertThat(update.err()).contains("vm1 cannot be live-updated").contains(binary.major() >= 10
        ? "aux-ram-share=on" : "has no cpr-transfer migration mode");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(json(exec("query-status").out()).path("status").asText()).isEqualTo("running");
    if (binary.major() >= 10) {
      assertThat(mode()).isEqualTo("normal");
    }
    assertThat(eventTypes()).doesNotContain("liveupdate.started", "liveupdate.failed");
  }

  @QemuTest
  void aMissingOrOlderBinaryIsRefused(QemuBinary binary) throws Exception {
    assumeTrue(binary.major() >= 10, "QEMU " + binary.version() + " is refused before the binary is looked at");
    start(binary, true);

    Path missingPath = harness.dir().resolve("dies.sh");
    Run missing = cli("vms", "update", "vm1", "--qemu", missingPath.toString());
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err()).contains("dies.sh does not exist or is not executable");

    Run unlisted = cli("vms", "update", "vm1", "--qemu", "/bin/true");
    assertThat(unlisted.exit()).as("denied").isEqualTo(3);
    assertThat(unlisted.err()).contains("/bin/true is not a QEMU binary this host's configuration lets a live update"
        + " start").contains("liveUpdate.binaries");

    if (oldest().major() < binary.major()) {
      Run older = cli("vms", "update", "vm1", "--qemu", oldest().path().toString());
      assertThat(older.exit()).isEqualTo(1);
      assertThat(older.err()).contains("older than the running " + binary.version());
    }
    assertThat(qemu.isAlive()).isTrue();
    assertThat(mode()).isEqualTo("normal");
  }

  @QemuTest
  void aNewQemuThatDiesAtStartIsRolledBackAndTheOldOneRunsOn(QemuBinary binary) throws Exception {
    assumeTrue(binary.major() >= 10, "QEMU " + binary.version() + " has no cpr-transfer");
    start(binary, true);
    Path dies = wrapper("dies.sh", newest(), "echo 'injected: cannot start' >&2; exit 3");

    Run update = cli("vms", "update", "vm1", "--qemu", dies.toString());

    assertThat(update.exit()).isEqualTo(1);
    assertThat(update.err()).contains("live update failed: the new QEMU exited with status 3")
        .contains("injected: cannot start").contains("is running as before");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(json(exec("query-status").out()).path("status").asText()).isEqualTo("running");
    assertThat(mode()).isEqualTo("normal");
    assertThat(eventTypes()).contains("liveupdate.started", "liveupdate.failed").doesNotContain("liveupdate.completed");
  }

  @QemuTest
  void aDeviceTheNewQemuRefusesRollsBackAfterTheCprChannelWasUsed(QemuBinary binary) throws Exception {
    assumeTrue(binary.major() >= 10, "QEMU " + binary.version() + " has no cpr-transfer");
    start(binary, true);
    mark(0x7e7e00000000L);
    Run attach = cli("devices", "attach", "vm1", "--driver", "e1000e", "--id", "nic1");
    assertThat(attach.exit()).as(attach.err()).isEqualTo(0);
    // The stand-in starts the new QEMU with a device of the same id already there: the sidecar's
    // device_add of nic1 on the new QEMU fails after the old QEMU sent its cpr state.
    Path clash = wrapper("clash.sh", newest(), "exec " + newest().path() + " \"$@\" -device e1000e,id=nic1,bus=rp2");

    Run update = cli("vms", "update", "vm1", "--qemu", clash.toString());

    assertThat(update.exit()).isEqualTo(1);
    assertThat(update.err()).contains("the new QEMU refused device nic1").contains("is running as before");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(json(exec("query-status").out()).path("status").asText()).isEqualTo("running");
    assertThat(mode()).isEqualTo("normal");
    assertMarked(0x7e7e00000000L);
    assertThat(cli("devices", "list", "vm1").out()).containsPattern("(?m)^nic1 +e1000e +");
    Path monitor = qemu.qmpAddress().unixPath();
    try (Stream<Path> files = Files.list(monitor.getParent())) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .noneMatch(f -> f.startsWith(monitor.getFileName() + CprCommandLine.MOVED));
    }

    Run again = cli("vms", "update", "vm1", "--qemu", newest().path().toString(), "--output", "json");
    assertThat(again.exit()).as("a retry after the rollback: %s", again.err()).isEqualTo(0);
    started.add(json(again.out()).path("newPid").asLong());
    assertMarked(0x7e7e00000000L);
  }

  /** Writes {@code tag | address} at each of {@link #MARKS}, through qtest. */
  private void mark(long tag) throws Exception {
    for (long address : MARKS) {
      assertThat(qtest(String.format("writeq 0x%x 0x%x", address, tag | address))).isEqualTo("OK");
    }
  }

  private void assertMarked(long tag) throws Exception {
    for (long address : MARKS) {
      assertThat(qtest(String.format("readq 0x%x", address))).as("RAM at 0x%x", address)
          .isEqualTo(String.format("OK 0x%016x", tag | address));
    }
  }
}
