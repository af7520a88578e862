package io.qmpsidecar.policy.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.policy.ValueSets;
import java.util.ArrayList;
import java.util.List;

/**
 * A compiled policy together with the configuration's value sets and the run-time state its rate
 * limits need. The engine swaps one for another atomically on reload, so a decision sees one
 * policy with one set of values; rate-limit buckets therefore start full after a reload.
 */
public final class ActivePolicy {

  private final CompiledPolicy policy;
  private final ValueSets valueSets;
  private final RateLimiter limiter;

  private ActivePolicy(CompiledPolicy policy, ValueSets valueSets) {
    this.policy = policy;
    this.valueSets = valueSets;
    this.limiter = new RateLimiter(policy.rateLimits());
  }

  /**
   * Wraps a policy made by {@code Policies} with the value sets it is enforced with.
   *
   * @throws IllegalArgumentException for any other {@link Policy} implementation
   */
  public static ActivePolicy of(Policy policy, ValueSets valueSets) {
    if (!(policy instanceof CompiledPolicy compiled)) {
      throw new IllegalArgumentException("only policies loaded through Policies can be enforced,"
          + " got " + policy.getClass().getName());
    }
    return new ActivePolicy(compiled, java.util.Objects.requireNonNull(valueSets, "valueSets"));
  }

  public Policy policy() {
    return policy;
  }

  public ValueSets valueSets() {
    return valueSets;
  }

  /** The rules' decision, then the caller's rate limit if the rules allow. */
  public Decision decide(PolicyRequest request, long nowMillis) {
    Decision decision = policy.decide(request, valueSets);
    if (!decision.allowed()) {
      return decision;
    }
    Decision limited = limiter.admit(request.caller().id(), nowMillis);
    return limited == null ? decision : limited;
  }

  /** An automation rule that matched an event: what it wants run and its cooldown. */
  public record Triggered(String ruleId, String command, JsonNode arguments, long cooldownMillis) {}

  /** Every automation rule that matches the event, in file order (cooldowns not applied). */
  public List<Triggered> triggered(String event, JsonNode data) {
    List<Triggered> out = new ArrayList<>();
    for (AutomationRule rule : policy.automation()) {
      if (rule.matches(event, data)) {
        out.add(new Triggered(rule.id(), rule.command(), rule.arguments().deepCopy(),
            rule.cooldownMillis()));
      }
    }
    return out;
  }
}
