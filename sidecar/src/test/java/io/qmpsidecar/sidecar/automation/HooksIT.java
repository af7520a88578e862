package io.qmpsidecar.sidecar.automation;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.FlowTestPolicy;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Hooks run real programs on a real QEMU's events and before its operations: the event's JSON on
 * stdin and the documented environment; output in the log; the exit status as an event; a hook
 * that hangs or fails holds up neither the daemon nor the other hooks; a full queue is reported;
 * a prepare hook's refusal stops an attach, a detach and a migration with its stderr as the reason.
 */
class HooksIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private Path script(String name, String body) throws IOException {
    Path file = harness.dir().resolve(name);
    Files.writeString(file, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    return file;
  }

  /** A config with vm1 (two root ports) and the hooks, written as YAML. */
  private TestConfig config(QemuBinary binary, String hooks) throws IOException {
    Path file = Files.writeString(harness.dir().resolve("sidecar.yaml"), "hooks:\n" + hooks);
    return harness.config().file(file).vm("vm1", harness.qemu(binary, "vm1", 2));
  }

  private static void reset(ApiTestClient api) {
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}").status()).isEqualTo(200);
  }

  @QemuTest
  void anEventHookGetsTheEventOnStdinAndItsEnvironmentAndItsOutputIsLogged(QemuBinary binary) throws Exception {
    ListAppender<ILoggingEvent> log = capture("io.qmpsidecar.hooks");
    Path out = Files.createDirectory(harness.dir().resolve("out"));
    Path record = script("record", "cat > " + out + "/$QMP_SIDECAR_EVENT_ID.json\n"
        + "env | grep '^QMP_SIDECAR_' | sort > " + out + "/$QMP_SIDECAR_EVENT_ID.env\n"
        + "echo \"recorded $QMP_SIDECAR_EVENT $QMP_SIDECAR_EVENT_ID\"\n");
    TestConfig config = config(binary, "  - {name: record, events: [qmp.RESET], run: [" + record + "]}\n");
    Sidecar sidecar = harness.startReady(config);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));

    reset(harness.api(config));
    SidecarEvent reset = events.await("qmp.RESET");
    SidecarEvent ran = events.await(AutomationEvents.HOOK_RAN);
    assertThat(ran.text("hook")).isEqualTo("record");
    assertThat(ran.data().path("exit").asInt()).isZero();
    assertThat(ran.data().path("event").asLong()).isEqualTo(reset.id());
    assertThat(JSON.readTree(out.resolve(reset.id() + ".json").toFile())).isEqualTo(reset.toJson());
    assertThat(Files.readAllLines(out.resolve(reset.id() + ".env"))).containsExactly(
        "QMP_SIDECAR_API=" + config.apiSocket(),
        "QMP_SIDECAR_EVENT=qmp.RESET",
        "QMP_SIDECAR_EVENT_ID=" + reset.id(),
        "QMP_SIDECAR_HOOK=record",
        "QMP_SIDECAR_VM=vm1");
    Await.until("the hook's output is logged", () -> log.list.stream().anyMatch(
        e -> e.getFormattedMessage().equals("hook record stdout: recorded qmp.RESET " + reset.id())));

    Path changed = Files.writeString(harness.dir().resolve("changed.yaml"), "hooks:\n  - {name: record, events:"
        + " [qmp.STOP], run: [" + record + "]}\n");
    assertThat(sidecar.reload(harness.config().file(changed).vm("vm1", "unix:" + harness.dir().resolve("vm1.qmp"))
        .build())).as("hooks change at the next start").containsExactly("hooks");
  }

  @QemuTest
  void aHookThatHangsOrFailsHoldsUpNeitherTheDaemonNorTheOtherHooks(QemuBinary binary) throws Exception {
    Path hung = script("hung", "sleep 60 &\necho $! > " + harness.dir().resolve("hung.pid") + "\nwait\n");
    Path failing = script("failing", "echo 'the disk is full' >&2\nexit 3\n");
    Path fast = script("fast", "cat > /dev/null\n");
    TestConfig config = config(binary, "  - {name: hung, events: [qmp.RESET], run: [" + hung + "], timeout: 5s}\n"
        + "  - {name: failing, events: [qmp.RESET], run: [" + failing + "]}\n"
        + "  - {name: fast, events: [qmp.RESET], run: [" + fast + "]}\n");
    Sidecar sidecar = harness.startReady(config);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    ApiTestClient api = harness.api(config);

    reset(api);
    SidecarEvent killed = events.await(AutomationEvents.HOOK_FAILED, e -> e.text("hook").equals("hung"));
    assertThat(killed.text("reason")).isEqualTo("did not finish within 5000 ms and was killed");
    assertThat(killed.data().has("exit")).isFalse();
    SidecarEvent fastRan = events.await(AutomationEvents.HOOK_RAN, e -> e.text("hook").equals("fast"));
    assertThat(fastRan.id()).as("the fast hook did not wait for the hung one").isLessThan(killed.id());
    SidecarEvent failed = events.await(AutomationEvents.HOOK_FAILED, e -> e.text("hook").equals("failing"));
    assertThat(failed.data().path("exit").asInt()).isEqualTo(3);
    assertThat(failed.text("reason")).isEqualTo("exited with status 3");
    assertThat(failed.text("stderr")).isEqualTo("the disk is full");
    long child = Long.parseLong(Files.readString(harness.dir().resolve("hung.pid")).strip());
    Await.until("what the hung hook started was killed with it",
        () -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true));

    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).isEqualTo(200);
    long before = sidecar.events().lastId();
    reset(api);
    events.await(AutomationEvents.HOOK_RAN, e -> e.text("hook").equals("fast") && e.data().path("event").asLong() > before);
  }

  @QemuTest
  void runsBeyondAHooksQueueAreDroppedAndReported(QemuBinary binary) throws Exception {
    Path slow = script("slow", "sleep 1\n");
    TestConfig config = config(binary, "  - {name: slow, events: [test.burst], run: [" + slow + "], concurrency: 1,"
        + " queue: 1}\n");
    Sidecar sidecar = harness.startReady(config);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    for (int i = 0; i < 5; i++) {
      sidecar.events().publish("vm1", "test.burst", null, null);
    }
    Await.until("two runs ended", () -> events.ofType(AutomationEvents.HOOK_RAN).size() == 2);
    Await.until("three drops reported", () -> events.ofType(AutomationEvents.HOOK_DROPPED).stream()
        .mapToLong(e -> e.data().path("dropped").asLong()).sum() == 3);
    SidecarEvent dropped = events.ofType(AutomationEvents.HOOK_DROPPED).get(0);
    assertThat(dropped.text("hook")).isEqualTo("slow");
    assertThat(dropped.text("reason")).isEqualTo("hook slow already runs 1 and has 1 waiting; retry later, or raise"
        + " the hook's concurrency or queue");
    String metrics = harness.api(config).call(HttpMethod.GET, "/metrics", null).body().asText();
    assertThat(metrics).contains("qmp_sidecar_hook_runs_total{hook=\"slow\",outcome=\"dropped\"} 3.0")
        .contains("qmp_sidecar_hook_runs_total{hook=\"slow\",outcome=\"ran\"} 2.0");
  }

  @QemuTest
  void aPrepareHookRefusesAttachDetachAndMigrateWithItsStderr(QemuBinary binary) throws Exception {
    Path lock = harness.dir().resolve("frozen");
    Path approve = script("approve", "input=$(cat)\n"
        + "case \"$input\" in *'\"id\":\"bad-'*) echo \"device ids starting bad- are not allowed on $QMP_SIDECAR_VM\" >&2;"
        + " exit 1;; esac\n"
        + "if [ \"$QMP_SIDECAR_OPERATION\" != attach ] && [ -e " + lock + " ]; then echo \"$QMP_SIDECAR_OPERATION"
        + " is frozen by $QMP_SIDECAR_CALLER's change window\" >&2; exit 2; fi\n");
    TestConfig config = config(binary, "  - {name: approve, prepare: [attach, detach, migrate], run: [" + approve
        + "]}\n").vm("dst", harness.qemu(binary, "dst", 2, "-incoming", "defer")).detachWait(Duration.ofMillis(300))
        .policyFile(FlowTestPolicy.write(harness.dir()));
    Sidecar sidecar = harness.startReady(config);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    ApiTestClient api = harness.api(config);

    Reply bad = api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"bad-nic\"}");
    assertThat(bad.status()).isEqualTo(403);
    assertThat(bad.body().path("type").asText()).isEqualTo("urn:qmp-sidecar:problem:hook-refused");
    assertThat(bad.body().path("title").asText()).isEqualTo("Refused by a prepare hook");
    assertThat(bad.body().path("hook").asText()).isEqualTo("approve");
    assertThat(bad.body().path("exit").asInt()).isEqualTo(1);
    assertThat(bad.body().path("detail").asText()).startsWith("the prepare hook approve refused the attach of bad-nic"
        + " to VM vm1: device ids starting bad- are not allowed on vm1");
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1/devices", null).body()).isEmpty();
    SidecarEvent refused = events.await(AutomationEvents.HOOK_REFUSED);
    assertThat(refused.text("operation")).isEqualTo("attach");
    assertThat(refused.data().path("exit").asInt()).isEqualTo(1);
    assertThat(refused.data().path("request").path("id").asText()).isEqualTo("bad-nic");

    Reply good = api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"good-nic\"}");
    assertThat(good.status()).as("%s", good.body()).isEqualTo(201);
    assertThat(events.await(AutomationEvents.HOOK_RAN).text("caller")).isEqualTo("api:local");

    Files.createFile(lock);
    Reply detach = api.call(HttpMethod.DELETE, "/v1/vms/vm1/devices/good-nic", null);
    assertThat(detach.status()).isEqualTo(403);
    assertThat(detach.body().path("detail").asText()).startsWith("the prepare hook approve refused the detach of"
        + " good-nic from VM vm1: detach is frozen by api:local's change window");
    Reply migrate = api.call(HttpMethod.POST, "/v1/vms/vm1/migrations",
        "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:1\"}");
    assertThat(migrate.status()).isEqualTo(403);
    assertThat(migrate.body().path("detail").asText()).startsWith("the prepare hook approve refused the migration of"
        + " VM vm1 to dst: migrate is frozen");
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1/migration", null).status()).as("nothing started").isEqualTo(404);
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1/devices", null).body()).hasSize(1);

    Files.delete(lock);
    assertThat(api.call(HttpMethod.DELETE, "/v1/vms/vm1/devices/good-nic", null).status()).isEqualTo(202);
  }

  @QemuTest
  void aPrepareHookThatDoesNotAnswerInTimeRefuses(QemuBinary binary) throws Exception {
    Path slow = script("slow", "sleep 30\n");
    TestConfig config = config(binary, "  - {name: slow, prepare: [attach], run: [" + slow + "], timeout: 500ms}\n")
        .policyFile(FlowTestPolicy.write(harness.dir()));
    Sidecar sidecar = harness.startReady(config);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    Reply r = harness.api(config).call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\"}");
    assertThat(r.status()).isEqualTo(403);
    assertThat(r.body().path("detail").asText()).startsWith("the prepare hook slow refused the attach of nic1 to VM vm1:"
        + " it did not finish within 500 ms and was killed, so the operation is refused");
    assertThat(r.body().path("fix").asText()).isEqualTo("fix the hook (" + slow + ") or its timeout in the hooks"
        + " configuration");
    assertThat(events.await(AutomationEvents.HOOK_FAILED).text("reason"))
        .isEqualTo("did not finish within 500 ms and was killed");
  }

  private static ListAppender<ILoggingEvent> capture(String name) {
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    Logger logger = (Logger) LoggerFactory.getLogger(name);
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    appender.start();
    logger.addAppender(appender);
    harness.track(() -> {
      logger.detachAppender(appender);
      logger.setLevel(level);
    });
    return appender;
  }
}
