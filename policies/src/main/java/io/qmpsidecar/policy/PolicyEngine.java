package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.impl.ActivePolicy;
import io.qmpsidecar.policy.impl.Cooldowns;
import io.qmpsidecar.policy.impl.QmpText;
import io.qmpsidecar.policy.impl.Redactor;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Decides every request against the current policy and the configuration's value sets, applies
 * rate limits, and hands an audit record of each decision to the sink. Thread-safe: decisions may
 * run on any number of threads, and {@link #reload}/{@link #replace} swap the policy and its
 * value sets atomically, so a decision sees either the old pair or the new one, never a mix.
 */
public final class PolicyEngine {

  private final AtomicReference<ActivePolicy> active;
  private final AuditSink audit;
  private final Clock clock;
  private final Cooldowns cooldowns = new Cooldowns();

  /**
   * @param policy the policy to enforce, from {@link Policies}
   * @param audit receives a record of every decision (use {@link AuditSink#NONE} for none)
   * @param clock time for rate limits, cooldowns and audit records
   */
  public PolicyEngine(Policy policy, AuditSink audit, Clock clock) {
    this(policy, ValueSets.EMPTY, audit, clock);
  }

  /**
   * @param policy the policy to enforce, from {@link Policies}
   * @param valueSets the configuration's named value sets the policy refers to (e.g.
   *     {@code migration.destinations}); a set it names but is not here is empty
   * @param audit receives a record of every decision (use {@link AuditSink#NONE} for none)
   * @param clock time for rate limits, cooldowns and audit records
   */
  public PolicyEngine(Policy policy, ValueSets valueSets, AuditSink audit, Clock clock) {
    this.active = new AtomicReference<>(ActivePolicy.of(policy, valueSets));
    this.audit = Objects.requireNonNull(audit, "audit");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The policy in force. */
  public Policy policy() {
    return active.get().policy();
  }

  /** The value sets in force. */
  public ValueSets valueSets() {
    return active.get().valueSets();
  }

  /** Decides a request: the rules, then the caller's rate limit; audits the decision. */
  public Decision decide(PolicyRequest request) {
    long now = clock.millis();
    Decision decision = active.get().decide(request, now);
    record(now, request.caller(), request.command(), request.arguments(), decision);
    return decision;
  }

  /**
   * Decides a raw QMP command line as a client sent it ({@code {"execute": ..., "arguments":
   * ...}}). Denies with rule id {@link Decision#INVALID_REQUEST} anything QEMU might read
   * differently than this engine: duplicate keys, several JSON values, unexpected members.
   */
  public Decision decideText(Caller caller, String qmpJson, Optional<HotplugFacts> facts) {
    return decideText(caller, qmpJson,
        new RequestContext(Via.PASSTHROUGH, facts, java.util.Map.of()));
  }

  /** As {@link #decideText(Caller, String, Optional)}, in the given context. */
  public Decision decideText(Caller caller, String qmpJson, RequestContext context) {
    QmpText.Parsed parsed = QmpText.parse(qmpJson);
    if (parsed.refusal() != null) {
      long now = clock.millis();
      Decision decision = Decision.deny(Decision.INVALID_REQUEST, parsed.refusal());
      record(now, caller, "", JsonNodeFactory.instance.objectNode(), decision);
      return decision;
    }
    return decide(new PolicyRequest(caller, parsed.command(), parsed.arguments(), context));
  }

  /**
   * Loads {@code file} and, only if it is valid, makes it the policy in force.
   *
   * @return the new policy
   * @throws PolicyLoadException when the file is invalid; the old policy stays in force
   */
  public Policy reload(Path file) {
    return reload(file, valueSets());
  }

  /**
   * Loads {@code file} and, only if it is valid, makes it the policy in force together with
   * {@code valueSets} (the configuration as reloaded), in one atomic step.
   *
   * @return the new policy
   * @throws PolicyLoadException when the file is invalid; the old policy and sets stay in force
   */
  public Policy reload(Path file, ValueSets valueSets) {
    Policy loaded = Policies.load(file);
    replace(loaded, valueSets);
    return loaded;
  }

  /** Makes {@code policy} the policy in force (atomically), keeping the value sets. */
  public void replace(Policy policy) {
    replace(policy, valueSets());
  }

  /** Makes {@code policy} and {@code valueSets} the ones in force, in one atomic step. */
  public void replace(Policy policy, ValueSets valueSets) {
    active.set(ActivePolicy.of(policy, valueSets));
    cooldowns.retainOnly(new HashSet<>(policy.automationIds()));
  }

  /**
   * Whether some automation rule of the policy in force names {@code event} (its conditions on
   * the data aside), so that a caller can leave the events no rule can fire on unread. Cheap:
   * no data is looked at and nothing is recorded.
   */
  public boolean watches(String event) {
    return active.get().watches(event);
  }

  /**
   * Tells the engine an event happened. Returns an action for every automation rule that matches
   * the event and is out of its cooldown, as a request from caller {@code rule:<id>} that is
   * <em>not yet decided</em>: whoever runs it decides it first, once, with {@link #decide} (the
   * sidecar's operations layer does), so that it is audited, rate-limited and counted like any
   * other request. A rule fires, and its cooldown starts, when it matches, whatever the decision
   * on its command will be, so a denied rule cannot flood the audit.
   *
   * @param scope what the cooldown is kept for besides the rule (the sidecar passes the VM), so
   *     that one VM's event does not silence the rule for another
   * @param event the event's name
   * @param data the event's data, which the rules' {@code when} conditions read as {@code data}
   */
  public List<AutomationAction> onEvent(String scope, String event, JsonNode data) {
    long now = clock.millis();
    List<AutomationAction> actions = new ArrayList<>();
    for (ActivePolicy.Triggered t : active.get().triggered(event, data)) {
      if (cooldowns.tryFire(t.ruleId(), scope, t.cooldownMillis(), now)) {
        actions.add(new AutomationAction(t.ruleId(), new PolicyRequest(Caller.rule(t.ruleId()), t.command(),
            t.arguments(), RequestContext.of(Via.AUTOMATION))));
      }
    }
    return actions;
  }

  private void record(long now, Caller caller, String command, JsonNode args, Decision d) {
    audit.accept(new AuditRecord(Instant.ofEpochMilli(now), caller.id(), command,
        Redactor.redact(args), d.effect(), d.ruleId(), Redactor.scrub(d.reason(), args)));
  }
}
