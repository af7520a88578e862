package io.qmpsidecar.sidecar.automation;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The policy's automation rules run in the daemon, against a real QEMU: a guest panic (a qtest
 * write to pvpanic's port) resets the VM through the operations layer as caller
 * {@code rule:reset-on-panic}, decided and audited once; a denied and a failing action are
 * reported; a reload changes the rules for the next event; a storm is cut and reported.
 */
class AutomationRulesIT {
  private static final String POLICY = """
      version: 1
      name: automation-test
      rules:
        - {id: local, effect: allow, callers: ["api:local"], commands: ["*"]}
        - {id: rule-reset, effect: allow, callers: ["rule:reset-on-panic"], commands: [system_reset]}
        - {id: rule-delete, effect: allow, callers: ["rule:delete-on-resume"], commands: [device_del]}
        - {id: rule-query, effect: allow, callers: ["rule:query-*"], commands: ["query-*"]}
        - {id: rule-other, effect: deny, callers: ["rule:*"], commands: ["*"], reason: rules may only reset or query}
      automation:
        - id: reset-on-panic
          event: GUEST_PANICKED
          when: {data.action: pause}
          run: {execute: system_reset}
          cooldown: 60s
        - id: quit-on-stop
          event: STOP
          run: {execute: quit}
          cooldown: 0s
        - id: delete-on-resume
          event: RESUME
          run: {execute: device_del, arguments: {id: nothing-here}}
          cooldown: 0s
      """;
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private Sidecar start(QemuBinary binary, String policy, String... sets) throws Exception {
    Path file = Files.writeString(harness.dir().resolve("policy.yaml"), policy);
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1, "-device", "pvpanic",
        "-action", "panic=pause")).policyFile(file);
    for (int i = 0; i < sets.length; i += 2) {
      config.set(sets[i], sets[i + 1]);
    }
    return harness.startReady(config);
  }

  @QemuTest
  void aPanicResetsTheVmAsTheRuleDecidedOnceAndDeniedAndFailedActionsAreReported(QemuBinary binary) throws Exception {
    ListAppender<ILoggingEvent> audit = new ListAppender<>();
    Logger auditLog = (Logger) LoggerFactory.getLogger("io.qmpsidecar.audit");
    Level level = auditLog.getLevel();
    auditLog.setLevel(Level.INFO);
    audit.start();
    auditLog.addAppender(audit);
    harness.track(() -> {
      auditLog.detachAppender(audit);
      auditLog.setLevel(level);
    });
    Sidecar sidecar = start(binary, POLICY);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    ApiTestClient api = harness.api();

    Qtest.panic(harness.dir(), "vm1");
    SidecarEvent panic = events.await("qmp.GUEST_PANICKED");
    assertThat(panic.text("action")).isEqualTo("pause");
    SidecarEvent ran = events.await(AutomationEvents.RAN);
    assertThat(ran.vm()).isEqualTo("vm1");
    assertThat(ran.text("rule")).isEqualTo("reset-on-panic");
    assertThat(ran.text("caller")).isEqualTo("rule:reset-on-panic");
    assertThat(ran.text("command")).isEqualTo("system_reset");
    assertThat(ran.data().path("event").asLong()).isEqualTo(panic.id());
    SidecarEvent reset = events.await("qmp.RESET");
    assertThat(reset.text("reason")).isEqualTo("host-qmp-system-reset");
    assertThat(reset.id()).isGreaterThan(panic.id());

    // The panic stopped the VM: quit-on-stop fired, and the policy denied its quit.
    SidecarEvent denied = events.await(AutomationEvents.DENIED);
    assertThat(denied.text("rule")).isEqualTo("quit-on-stop");
    assertThat(denied.text("decidedBy")).isEqualTo("rule-other");
    assertThat(denied.text("reason")).isEqualTo("rules may only reset or query");
    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).as("QEMU did not quit").isEqualTo(200);

    // cont: RESUME fires delete-on-resume, allowed, and QEMU refuses to delete what is not there.
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"cont\"}").status()).isEqualTo(200);
    SidecarEvent failed = events.await(AutomationEvents.FAILED);
    assertThat(failed.text("rule")).isEqualTo("delete-on-resume");
    assertThat(failed.text("kind")).isEqualTo("qemu-error");
    assertThat(failed.text("error")).contains("nothing-here");

    // A second panic within reset-on-panic's cooldown resets nothing: the STOP it causes is
    // offered after it, so its denial is the proof that nothing ran for the panic in between.
    int deniedBefore = events.ofType(AutomationEvents.DENIED).size();
    Qtest.panic(harness.dir(), "vm1");
    Await.until("the second panic's STOP was denied", () -> events.ofType(AutomationEvents.DENIED).size() > deniedBefore);
    assertThat(events.ofType(AutomationEvents.RAN)).hasSize(1);

    // Each action was decided once: one audit record of the decision each, and one line of its outcome.
    List<String> lines;
    synchronized (audit) {
      lines = audit.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
    assertThat(lines.stream().filter(l -> l.contains("caller=rule:reset-on-panic") && l.contains("command=system_reset")))
        .hasSize(1);
    assertThat(lines.stream().filter(l -> l.contains("caller=rule:quit-on-stop"))).hasSize(2);
    assertThat(lines).anyMatch(l -> l.equals("automation rule:reset-on-panic system_reset on VM vm1 for event "
        + panic.id() + " (qmp.GUEST_PANICKED): ran"));
    String metrics = api.call(HttpMethod.GET, "/metrics", null).body().asText();
    assertThat(metrics).contains("qmp_sidecar_automation_actions_total{outcome=\"ran\"} 1.0")
        .contains("qmp_sidecar_automation_actions_total{outcome=\"denied\"} 2.0")
        .contains("qmp_sidecar_automation_actions_total{outcome=\"failed\"} 1.0");
  }

  @QemuTest
  void aReloadedPolicysRulesApplyFromTheNextEvent(QemuBinary binary) throws Exception {
    String before = """
        version: 1
        name: before
        rules:
          - {id: all, effect: allow, callers: ["*"], commands: ["*"]}
        automation:
          - {id: query-on-stop, event: STOP, run: {execute: query-status}, cooldown: 0s}
        """;
    String after = """
        version: 1
        name: after
        rules:
          - {id: all, effect: allow, callers: ["*"], commands: ["*"]}
        automation:
          - {id: query-on-resume, event: RESUME, run: {execute: query-status}, cooldown: 0s}
        """;
    Sidecar sidecar = start(binary, before);
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    ApiTestClient api = harness.api();
    qmp(api, "stop");
    assertThat(events.await(AutomationEvents.RAN).text("rule")).isEqualTo("query-on-stop");
    qmp(api, "cont");
    // QEMU's RESUME may reach the stream after cont's reply: the reload must come after it, or the
    // new rule rightly applies to it (rules apply from the next event).
    events.await("qmp.RESUME");

    Files.writeString(harness.dir().resolve("policy.yaml"), after);
    sidecar.reload(harness.config().vm("vm1", "unix:" + harness.dir().resolve("vm1.qmp"))
        .policyFile(harness.dir().resolve("policy.yaml")).build());
    qmp(api, "stop");
    qmp(api, "cont");
    events.await(AutomationEvents.RAN, e -> e.text("rule").equals("query-on-resume"));
    assertThat(events.ofType(AutomationEvents.RAN)).extracting(e -> e.text("rule"))
        .containsExactly("query-on-stop", "query-on-resume");
    assertThat(events.ofType(AutomationEvents.RAN).get(0).data().path("result").path("status").asText())
        .isEqualTo("paused");
  }

  @QemuTest
  void aStormIsCutByTheCooldownAndTheGlobalBoundAndTheCutIsReported(QemuBinary binary) throws Exception {
    String policy = """
        version: 1
        name: storm
        rules:
          - {id: all, effect: allow, callers: ["*"], commands: ["*"]}
        automation:
          - {id: query-each, event: test.storm, run: {execute: query-status}, cooldown: 0s}
          - {id: query-once, event: test.storm, run: {execute: query-name}, cooldown: 60s}
        """;
    Sidecar sidecar = start(binary, policy, "automation.maxPerSecond", "5");
    RecordedEvents events = harness.track(new RecordedEvents(sidecar));
    int storm = 200;
    for (int i = 0; i < storm; i++) {
      sidecar.events().publish("vm1", "test.storm", null, null);
    }
    // Every action either ran or was counted in a drop report: 2 rules x 200 events, less the
    // cooldown's 199 silent cuts of query-once.
    Await.until("every action is accounted for", () -> events.ofType(AutomationEvents.RAN).size()
        + events.ofType(AutomationEvents.DROPPED).stream().mapToLong(e -> e.data().path("dropped").asLong()).sum()
        == storm + 1);
    List<SidecarEvent> ran = events.ofType(AutomationEvents.RAN);
    assertThat(ran).hasSize(5);
    assertThat(ran).filteredOn(e -> e.text("rule").equals("query-once")).hasSize(1);
    assertThat(ran).extracting(e -> e.data().path("event").asLong()).as("in event order").isSorted();
    List<SidecarEvent> dropped = events.ofType(AutomationEvents.DROPPED);
    assertThat(dropped.size()).as("drop reports, coalesced per second").isLessThanOrEqualTo(4);
    assertThat(dropped.get(0).text("reason")).isEqualTo("the global bound of 5 rule actions per second"
        + " (automation.maxPerSecond) was reached");
  }

  private static void qmp(ApiTestClient api, String command) {
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"" + command + "\"}").status()).isEqualTo(200);
  }
}
