package io.qmpsidecar.relay;

/**
 * What the policy engine said about one request.
 *
 * @param allowed whether the request may run
 * @param ruleId the rule that decided, for the DPU and the audit log
 * @param reason one line for humans
 */
public record AuthorizationDecision(boolean allowed, String ruleId, String reason) {

  public static AuthorizationDecision allow(String ruleId) {
    return new AuthorizationDecision(true, ruleId, "allowed");
  }

  public static AuthorizationDecision deny(String ruleId, String reason) {
    return new AuthorizationDecision(false, ruleId, reason);
  }
}
