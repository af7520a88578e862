package io.qmpsidecar.relay;

import java.time.Duration;
import java.util.Objects;

/**
 * What the policy engine said about one request: allowed, denied (for good), or throttled (denied
 * now, may be retried after {@code retryAfter}).
 *
 * @param allowed whether the request may run
 * @param ruleId the rule that decided, for the DPU and the audit log
 * @param reason one line for humans
 * @param retryAfter for a throttled request, how long the DPU should wait before retrying; null
 *     for an allowed or denied one
 */
public record AuthorizationDecision(boolean allowed, String ruleId, String reason, Duration retryAfter) {

  public AuthorizationDecision {
    Objects.requireNonNull(ruleId, "ruleId");
    Objects.requireNonNull(reason, "reason");
    if (retryAfter != null && (allowed || retryAfter.isNegative())) {
      throw new IllegalArgumentException("retryAfter is only for a throttled (not allowed) request and must not"
          + " be negative, got " + retryAfter);
    }
  }

  public static AuthorizationDecision allow(String ruleId) {
    return new AuthorizationDecision(true, ruleId, "allowed", null);
  }

  /** Denied for good: the DPU gets {@link ErrorCode#POLICY_DENIED}. */
  public static AuthorizationDecision deny(String ruleId, String reason) {
    return new AuthorizationDecision(false, ruleId, reason, null);
  }

  /**
   * Denied for now by a rate limit: the DPU gets {@link ErrorCode#TOO_MANY_REQUESTS} with
   * {@code data.retryAfterMs}, and may retry the same request (same opId) after it.
   */
  public static AuthorizationDecision throttle(String ruleId, String reason, Duration retryAfter) {
    return new AuthorizationDecision(false, ruleId, reason, Objects.requireNonNull(retryAfter, "retryAfter"));
  }

  /** True for {@link #throttle}: denied now, not for good. */
  public boolean throttled() {
    return retryAfter != null;
  }
}
