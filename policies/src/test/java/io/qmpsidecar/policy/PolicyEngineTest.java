package io.qmpsidecar.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyEngineTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String HEADER = "version: 1\nname: t\n";

  private final MutableClock clock = new MutableClock(1_000_000);
  private final List<AuditRecord> audit = new ArrayList<>();

  private PolicyEngine engine(String yaml) {
    return new PolicyEngine(Policies.parse(HEADER + yaml, "t.yaml", false), audit::add, clock);
  }

  private static JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  private static PolicyRequest req(String caller, String command, String args) throws Exception {
    return PolicyRequest.of(new Caller(caller), command, json(args));
  }

  @Test
  void reloadOfAnInvalidFileKeepsTheOldPolicyInForce(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, HEADER + "rules:\n  - {id: ok, effect: allow, callers: ['api:*'], commands: [query-status]}\n");
    PolicyEngine engine = new PolicyEngine(Policies.load(file), AuditSink.NONE, clock);
    PolicyRequest query = req("api:a", "query-status", "{}");

    Files.writeString(file, HEADER + "rules:\n  - {id: ok, effect: deny, callers: ['api:*'], commands: [query-status], bogus: 1}\n");
    assertThatThrownBy(() -> engine.reload(file)).isInstanceOf(PolicyLoadException.class)
        .hasMessageContaining("unknown field 'bogus'");
    assertThat(engine.decide(query).allowed()).isTrue();

    Files.writeString(file, HEADER + "rules:\n  - {id: denied, effect: deny, callers: ['api:*'], commands: [query-status]}\n");
    engine.reload(file);
    assertThat(engine.decide(query)).isEqualTo(Decision.deny("denied", "rule denied denies this request"));
  }

  @Test
  void tokenBucketPerCallerRefillsWithTheClock() throws Exception {
    PolicyEngine engine = engine("rules:\n  - {id: q, effect: allow, callers: ['api:*'], commands: ['query-*']}\n"
        + "rate-limits:\n  - {id: api, callers: ['api:*'], burst: 2, per-second: 1}\n");
    PolicyRequest a = req("api:a", "query-status", "{}");

    assertThat(engine.decide(a).allowed()).isTrue();
    assertThat(engine.decide(a).allowed()).isTrue();
    Decision third = engine.decide(a);
    assertThat(third.ruleId()).isEqualTo("rate-limit:api");
    assertThat(third.allowed()).isFalse();
    assertThat(third.retryAfter()).as("a token refills in one second").isEqualTo(Duration.ofMillis(1000));
    assertThat(engine.decide(req("api:b", "query-status", "{}")).allowed()).as("own bucket").isTrue();

    clock.advance(999);
    assertThat(engine.decide(a).retryAfter()).as("1 ms of the second left").isEqualTo(Duration.ofMillis(1));
    clock.advance(1);
    assertThat(engine.decide(a).allowed()).isTrue();
    assertThat(engine.decide(a).allowed()).isFalse();
  }

  @Test
  void deniedRequestsTakeNoToken() throws Exception {
    PolicyEngine engine = engine("rules:\n  - {id: q, effect: allow, callers: ['api:*'], commands: ['query-*']}\n"
        + "rate-limits:\n  - {id: api, callers: ['api:*'], burst: 1, per-second: 1}\n");
    assertThat(engine.decide(req("api:a", "quit", "{}")).ruleId()).isEqualTo("default");
    assertThat(engine.decide(req("api:a", "query-status", "{}")).allowed()).isTrue();
  }

  @Test
  void automationFiresOncePerCooldownAndScopeAndLeavesTheDecisionToWhoRunsIt() throws Exception {
    PolicyEngine engine = engine("rules:\n"
        + "  - {id: resets, effect: allow, callers: ['rule:*'], commands: [system_reset]}\n"
        + "automation:\n"
        + "  - id: reset-on-panic\n    event: GUEST_PANICKED\n"
        + "    when: {data.action: pause}\n    run: {execute: system_reset}\n    cooldown: 60s\n"
        + "  - id: quit-on-panic\n    event: GUEST_*\n    run: {execute: quit}\n    cooldown: 0s\n");
    JsonNode pause = json("{\"action\":\"pause\"}");

    List<AutomationAction> first = engine.onEvent("vm1", "GUEST_PANICKED", pause);
    assertThat(first).extracting(AutomationAction::ruleId).containsExactly("reset-on-panic", "quit-on-panic");
    assertThat(first.get(0).request().caller()).isEqualTo(Caller.rule("reset-on-panic"));
    assertThat(first.get(0).request().command()).isEqualTo("system_reset");
    assertThat(audit).as("firing decides nothing: the runner decides, once").isEmpty();
    assertThat(engine.decide(first.get(0).request()).allowed()).isTrue();
    assertThat(engine.decide(first.get(1).request()).ruleId()).isEqualTo("default");
    assertThat(audit).hasSize(2);

    clock.advance(59_999);
    assertThat(engine.onEvent("vm1", "GUEST_PANICKED", pause)).extracting(AutomationAction::ruleId)
        .containsExactly("quit-on-panic");
    assertThat(engine.onEvent("vm2", "GUEST_PANICKED", pause)).as("another VM's cooldown is its own")
        .extracting(AutomationAction::ruleId).containsExactly("reset-on-panic", "quit-on-panic");
    clock.advance(1);
    assertThat(engine.onEvent("vm1", "GUEST_PANICKED", pause)).extracting(AutomationAction::ruleId)
        .containsExactly("reset-on-panic", "quit-on-panic");
    assertThat(engine.onEvent("vm1", "GUEST_PANICKED", json("{\"action\":\"poweroff\"}")))
        .extracting(AutomationAction::ruleId).containsExactly("quit-on-panic");
    assertThat(engine.onEvent("vm1", "SHUTDOWN", pause)).isEmpty();
    assertThat(engine.watches("GUEST_PANICKED")).isTrue();
    assertThat(engine.watches("GUEST_CRASHLOADED")).as("quit-on-panic's GUEST_*").isTrue();
    assertThat(engine.watches("SHUTDOWN")).isFalse();
  }

  @Test
  void automationCommandsComeViaAutomationAndOnlyAutomationRulesAllowThem() throws Exception {
    PolicyEngine engine = engine("rules:\n"
        + "  - {id: by-rule, effect: allow, callers: ['rule:*'], commands: [system_reset], via: [automation],"
        + " arguments: {}}\n"
        + "automation:\n"
        + "  - {id: reset, event: GUEST_PANICKED, run: {execute: system_reset}, cooldown: 0s}\n");
    assertThat(engine.onEvent("vm1", "GUEST_PANICKED", json("{}"))).singleElement()
        .satisfies(a -> assertThat(engine.decide(a.request()).ruleId()).isEqualTo("by-rule"));
    assertThat(engine.decideText(Caller.rule("reset"), "{\"execute\":\"system_reset\"}",
        RequestContext.PASSTHROUGH).ruleId()).as("the same caller sending it itself").isEqualTo("default");
  }

  @Test
  void auditRecordsEveryDecisionWithSecretsMasked() throws Exception {
    PolicyEngine engine = engine("rules:\n  - {id: pw, effect: allow, callers: ['api:*'], commands: [set_password]}\n");
    JsonNode args = json("{\"protocol\":\"vnc\",\"password\":\"hunter2\",\"nested\":[{\"api-token\":\"t\"}]}");

    engine.decide(PolicyRequest.of(Caller.api("ops"), "set_password", args));
    engine.decideText(Caller.proxy("c"), "{\"execute\":\"object-add\",\"arguments\":"
        + "{\"qom-type\":\"secret\",\"id\":\"s\",\"data\":\"letmein\"}}", java.util.Optional.empty());
    engine.decideText(Caller.proxy("c"), "not json", java.util.Optional.empty());

    assertThat(audit).hasSize(3);
    AuditRecord first = audit.get(0);
    assertThat(first.time()).isEqualTo(Instant.ofEpochMilli(1_000_000));
    assertThat(first.caller()).isEqualTo("api:ops");
    assertThat(first.ruleId()).isEqualTo("pw");
    assertThat(first.arguments().toString())
        .isEqualTo("{\"protocol\":\"vnc\",\"password\":\"***\",\"nested\":[{\"api-token\":\"***\"}]}");
    assertThat(args.get("password").textValue()).as("the request is untouched").isEqualTo("hunter2");
    assertThat(audit.get(1).arguments().get("data").textValue()).isEqualTo("***");
    assertThat(audit.get(1).effect()).isEqualTo(Effect.DENY);
    assertThat(audit.get(2).ruleId()).isEqualTo(Decision.INVALID_REQUEST);
  }

  @Test
  void aReasonThatQuotesASecretValueIsMaskedInTheAuditRecord() throws Exception {
    PolicyEngine engine = engine("rules:\n  - {id: pw, effect: allow, callers: ['api:*'], commands: [set_password],\n"
        + "     arguments: {protocol: {enum: [vnc]}, password: {pattern: 'ok-[a-z]+'}}}\n");
    JsonNode args = json("{\"protocol\":\"vnc\",\"password\":\"hunter2\"}");

    Decision d = engine.decide(PolicyRequest.of(Caller.api("ops"), "set_password", args));

    assertThat(d.effect()).isEqualTo(Effect.DENY);
    assertThat(d.reason()).as("the caller's own answer may name what it sent").contains("\"hunter2\"");
    assertThat(audit).singleElement().satisfies(r -> assertThat(r.reason())
        .doesNotContain("hunter2").contains("got a string \"***\""));
  }

  @Test
  void mostSpecificRuleWinsAndDenyWinsATie() throws Exception {
    PolicyEngine engine = engine("match: most-specific\nrules:\n"
        + "  - {id: any, effect: allow, callers: ['*'], commands: ['*']}\n"
        + "  - {id: api-quit, effect: deny, callers: ['api:*'], commands: [quit]}\n"
        + "  - {id: ops-quit, effect: allow, callers: ['api:ops'], commands: [quit]}\n"
        + "  - {id: tie-allow, effect: allow, callers: [dpu], commands: [stop]}\n"
        + "  - {id: tie-deny, effect: deny, callers: [dpu], commands: [stop]}\n");
    assertThat(engine.decide(req("api:ops", "quit", "{}")).ruleId()).isEqualTo("ops-quit");
    assertThat(engine.decide(req("api:x", "quit", "{}")).ruleId()).isEqualTo("api-quit");
    assertThat(engine.decide(req("api:x", "stop", "{}")).ruleId()).isEqualTo("any");
    assertThat(engine.decide(req("dpu", "stop", "{}")).ruleId()).isEqualTo("tie-deny");
  }

  @Test
  void firstMatchingRuleWinsInFirstMode() throws Exception {
    PolicyEngine engine = engine("rules:\n"
        + "  - {id: any, effect: allow, callers: ['*'], commands: ['*']}\n"
        + "  - {id: api-quit, effect: deny, callers: ['api:*'], commands: [quit]}\n");
    assertThat(engine.decide(req("api:x", "quit", "{}")).ruleId()).isEqualTo("any");
  }

  @Test
  void rejectsPoliciesNotMadeByPolicies() {
    Policy foreign = new Policy() {
      public int version() { return 1; }
      public String name() { return "x"; }
      public String source() { return "x"; }
      public MatchMode matchMode() { return MatchMode.FIRST; }
      public List<String> ruleIds() { return List.of(); }
      public List<String> rateLimitIds() { return List.of(); }
      public List<String> automationIds() { return List.of(); }
      public Decision decide(PolicyRequest r, ValueSets v) { return new Decision(Effect.ALLOW, "x", "x"); }
      public java.util.Set<String> valueSetNames() { return java.util.Set.of(); }
      public java.util.Set<String> factNames(String c) { return java.util.Set.of(); }
      public Classification classify(Caller c, String m, Via v) {
        return new Classification(List.of(), List.of(), true);
      }
    };
    assertThatThrownBy(() -> new PolicyEngine(foreign, AuditSink.NONE, clock))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("loaded through Policies");
  }
}
