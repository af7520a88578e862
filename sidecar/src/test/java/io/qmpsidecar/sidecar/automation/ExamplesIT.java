package io.qmpsidecar.sidecar.automation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.FlowTestPolicy;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The examples of contrib/examples, each run as documented against a real QEMU and a daemon that
 * is restarted in the middle: the Python and the shell follower of the event stream (no event
 * lost or handled twice, the restart's gap seen, a DPU function's deletion recorded, a panicked
 * VM reset through the API), the policy rule and the hooks doing the same automation. A guest
 * panic is made with pvpanic and a qtest write ({@link Qtest}); with {@code -action panic=none}
 * the VM keeps running, as a hung guest kernel would, so that every panic is one to recover from.
 */
class ExamplesIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path EXAMPLES = Path.of("").toAbsolutePath().getParent().resolve("contrib/examples");
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  /**
   * vm1 with pvpanic, under the default preset plus the emulated attach and detach the flow
   * tests use ({@link FlowTestPolicy}: qtest has no VFIO, so an emulated NIC stands in for a DPU
   * function).
   */
  private TestConfig vm(QemuBinary binary) throws IOException {
    return harness.config().vm("vm1", harness.qemu(binary, "vm1", 2, "-device", "pvpanic", "-action", "panic=none"))
        .detachWait(Duration.ofMillis(300)).policyFile(FlowTestPolicy.write(harness.dir()));
  }

  @QemuTest
  void thePythonFollowerSurvivesARestartWithoutLosingOrRepeatingAnEvent(QemuBinary binary) throws Exception {
    Path state = harness.dir().resolve("state.id");
    Path record = harness.dir().resolve("deleted.jsonl");
    TestConfig config = vm(binary);
    followerSurvivesARestart(config, record, new ProcessBuilder("python3", EXAMPLES.resolve("follow-events.py").toString(),
        "--api", config.apiSocket().toString(), "--state", state.toString(), "--record", record.toString()));
  }

  @QemuTest
  void theShellFollowerSurvivesARestartWithoutLosingOrRepeatingAnEvent(QemuBinary binary) throws Exception {
    Path state = harness.dir().resolve("state.id");
    Path record = harness.dir().resolve("deleted.jsonl");
    TestConfig config = vm(binary);
    ProcessBuilder sh = new ProcessBuilder("sh", EXAMPLES.resolve("follow-events.sh").toString(), state.toString(),
        record.toString());
    sh.environment().put("QMP_SIDECAR_API", config.apiSocket().toString());
    followerSurvivesARestart(config, record, sh);
  }

  private void followerSurvivesARestart(TestConfig config, Path record, ProcessBuilder command) throws Exception {
    Sidecar first = harness.startReady(config);
    ApiTestClient api = harness.api(config);
    Follower follower = new Follower(command);
    follower.awaitLine("following");

    attachAndDelete(api, "dpu-nic1");
    SidecarEvent deleted = awaitEvent(first, "qmp.DEVICE_DELETED");
    settle(first);
    follower.awaitLine("event " + first.events().lastId() + " ");
    first.stop();
    follower.awaitLine("stream ended");

    Sidecar second = harness.startReady(config);
    follower.awaitLine("gap (restarted): the sidecar restarted at " + second.events().started());
    follower.awaitLine("state: vm1 ");
    Qtest.panic(harness.dir(), "vm1");
    SidecarEvent panic = awaitEvent(second, "qmp.GUEST_PANICKED");
    follower.awaitLine("reset vm1 after its panic (event " + panic.id() + ")");
    Await.until("QEMU reset the VM at the follower's request", () -> second.events().since(panic.id()).events().stream()
        .anyMatch(e -> e.type().equals("qmp.RESET") && "host-qmp-system-reset".equals(e.text("reason"))));
    settle(second);
    follower.awaitLine("event " + second.events().lastId() + " ");

    // An event published after the settle (a late reconcile) reaches the follower a little later.
    Await.until("the follower has handled as many events as both runs published after it started (one lost?)",
        () -> follower.handledIds().size() >= published(first, second, follower.handledIds().get(0)).size());
    List<Long> handled = follower.handledIds();
    assertThat(handled).as("each event once, in order").doesNotHaveDuplicates().isSorted();
    assertThat(handled).as("every event of both runs after the follower started")
        .containsExactlyElementsOf(published(first, second, handled.get(0)));
    List<String> lines = Files.readAllLines(record);
    assertThat(lines).hasSize(1);
    JsonNode line = JSON.readTree(lines.get(0));
    assertThat(line.path("event").asLong()).isEqualTo(deleted.id());
    assertThat(line.path("device").asText()).isEqualTo("dpu-nic1");
    assertThat(line.path("vm").asText()).isEqualTo("vm1");
  }

  /** The ids of the events {@code first} published from {@code from} on, then all of {@code second}'s. */
  private static List<Long> published(Sidecar first, Sidecar second, long from) {
    List<Long> ids = new ArrayList<>();
    first.events().since(0).events().stream().map(SidecarEvent::id).filter(id -> id >= from).forEach(ids::add);
    second.events().since(0).events().stream().map(SidecarEvent::id).forEach(ids::add);
    return ids;
  }

  @QemuTest
  void thePolicyRuleResetsAPanickedVmBeforeAndAfterARestart(QemuBinary binary) throws Exception {
    TestConfig config = vm(binary).policyFile(EXAMPLES.resolve("policy/reset-on-panic.yaml"));
    for (int run = 1; run <= 2; run++) {
      Sidecar sidecar = harness.startReady(config);
      Qtest.panic(harness.dir(), "vm1");
      SidecarEvent panic = awaitEvent(sidecar, "qmp.GUEST_PANICKED");
      SidecarEvent ran = awaitEvent(sidecar, AutomationEvents.RAN);
      assertThat(ran.text("rule")).isEqualTo("reset-on-panic");
      assertThat(ran.data().path("event").asLong()).isEqualTo(panic.id());
      Await.until("the rule reset the VM", () -> sidecar.events().since(panic.id()).events().stream()
          .anyMatch(e -> e.type().equals("qmp.RESET") && "host-qmp-system-reset".equals(e.text("reason"))));
      sidecar.stop();
    }
  }

  @QemuTest
  void theHooksRecordDeletionsAndResetAPanickedVmBeforeAndAfterARestart(QemuBinary binary) throws Exception {
    Path record = harness.dir().resolve("dpu-deletions.jsonl");
    String hooks = Files.readString(EXAMPLES.resolve("hooks.yaml"))
        .replace("/etc/qmp-sidecar/hooks", EXAMPLES.resolve("hooks").toString())
        .replace("/var/lib/qmp-sidecar/dpu-deletions.jsonl", record.toString());
    TestConfig config = vm(binary).file(Files.writeString(harness.dir().resolve("sidecar.yaml"), hooks));

    Sidecar first = harness.startReady(config);
    attachAndDelete(harness.api(config), "dpu-nic1");
    SidecarEvent deleted1 = awaitEvent(first, "qmp.DEVICE_DELETED");
    awaitEvent(first, AutomationEvents.HOOK_RAN, e -> e.text("hook").equals("record-dpu-deletion"));
    first.stop();

    Sidecar second = harness.startReady(config);
    attachAndDelete(harness.api(config), "dpu-nic2");
    SidecarEvent deleted2 = awaitEvent(second, "qmp.DEVICE_DELETED");
    awaitEvent(second, AutomationEvents.HOOK_RAN, e -> e.text("hook").equals("record-dpu-deletion"));
    Qtest.panic(harness.dir(), "vm1");
    SidecarEvent panic = awaitEvent(second, "qmp.GUEST_PANICKED");
    SidecarEvent reset = awaitEvent(second, AutomationEvents.HOOK_RAN, e -> e.text("hook").equals("reset-on-panic"));
    assertThat(reset.data().path("event").asLong()).isEqualTo(panic.id());
    assertThat(second.events().since(panic.id()).events()).anyMatch(e -> e.type().equals("qmp.RESET")
        && "host-qmp-system-reset".equals(e.text("reason")));

    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(record)) {
      lines.add(JSON.readTree(l));
    }
    assertThat(lines).extracting(l -> l.path("device").asText()).containsExactly("dpu-nic1", "dpu-nic2");
    assertThat(lines).extracting(l -> l.path("event").asLong()).containsExactly(deleted1.id(), deleted2.id());
  }

  /** Attaches an emulated NIC as a stand-in for a DPU function, detaches it, and answers the unplug with a reset. */
  private static void attachAndDelete(ApiTestClient api, String id) {
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"" + id + "\"}")
        .status()).isEqualTo(201);
    assertThat(api.call(HttpMethod.DELETE, "/v1/vms/vm1/devices/" + id, null).status()).isEqualTo(202);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}").status()).isEqualTo(200);
  }

  private static SidecarEvent awaitEvent(Sidecar sidecar, String type) {
    return awaitEvent(sidecar, type, e -> true);
  }

  private static SidecarEvent awaitEvent(Sidecar sidecar, String type, java.util.function.Predicate<SidecarEvent> also) {
    Await.until("an event " + type, () -> sidecar.events().since(0).events().stream()
        .anyMatch(e -> e.type().equals(type) && also.test(e)));
    return sidecar.events().since(0).events().stream().filter(e -> e.type().equals(type) && also.test(e))
        .findFirst().orElseThrow();
  }

  /** Waits until the daemon has published nothing for a second (QEMU follows a reset with resets of its own). */
  private static void settle(Sidecar sidecar) throws InterruptedException {
    long last = -1;
    while (last != sidecar.events().lastId()) {
      last = sidecar.events().lastId();
      Thread.sleep(1_000);
    }
  }

  /** An example program, its output (stdout and stderr) kept in a file; killed with its children after the test. */
  private static final class Follower {
    private final Process process;
    private final Path output;

    Follower(ProcessBuilder command) throws IOException {
      output = harness.dir().resolve("follower.out");
      process = command.redirectErrorStream(true).redirectOutput(output.toFile()).start();
      harness.track(() -> {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      });
    }

    List<String> lines() {
      try {
        return Files.readAllLines(output);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    void awaitLine(String start) {
      Await.until("the example prints a line starting '" + start + "' (it printed " + lines() + ")",
          () -> lines().stream().anyMatch(l -> l.startsWith(start)) || !process.isAlive());
      assertThat(process.isAlive()).as("the example runs; it printed %s", lines()).isTrue();
    }

    /** The ids of the "event ID TYPE VM" lines, in the order printed. */
    List<Long> handledIds() {
      return lines().stream().filter(l -> l.startsWith("event ")).map(l -> Long.parseLong(l.split(" ")[1])).toList();
    }
  }
}
