package io.qmpsidecar.policy;

import java.time.Duration;
import java.util.Objects;

/**
 * The outcome of evaluating one request.
 *
 * @param effect allow or deny
 * @param ruleId the id of the rule that decided; {@code default} when no rule matched, or one of
 *     the engine's own ids: {@code invalid-request} (a request the engine refuses to interpret),
 *     {@code rate-limit:<id>} (the caller ran out of tokens)
 * @param reason a sentence for humans saying why
 * @param retryAfter for a rate-limit denial, how long until the caller has a token again; null
 *     for every other decision
 */
public record Decision(Effect effect, String ruleId, String reason, Duration retryAfter) {

  /** Rule id of decisions about requests that are malformed or ambiguous (always deny). */
  public static final String INVALID_REQUEST = "invalid-request";

  public Decision {
    Objects.requireNonNull(effect, "effect");
    Objects.requireNonNull(ruleId, "ruleId");
    Objects.requireNonNull(reason, "reason");
  }

  /** A decision of a rule (not a rate limit). */
  public Decision(Effect effect, String ruleId, String reason) {
    this(effect, ruleId, reason, null);
  }

  /** True when the request may go to QEMU. */
  public boolean allowed() {
    return effect == Effect.ALLOW;
  }

  /** A deny decision. */
  public static Decision deny(String ruleId, String reason) {
    return new Decision(Effect.DENY, ruleId, reason);
  }

  /** A rate limit's denial: the caller may retry the same request after {@code retryAfter}. */
  public static Decision throttle(String ruleId, String reason, Duration retryAfter) {
    return new Decision(Effect.DENY, ruleId, reason, Objects.requireNonNull(retryAfter, "retryAfter"));
  }

  /** Formats as {@code ALLOW by rule ID: reason}, the form {@code policy explain} prints. */
  @Override
  public String toString() {
    return effect + " by rule " + ruleId + ": " + reason;
  }
}
