package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * A QMP command an automation rule wants run in response to an event, already decided by the
 * policy with caller {@code rule:<ruleId>}. The sidecar runs it only when
 * {@code decision().allowed()}.
 *
 * @param ruleId the automation rule that fired
 * @param request the command, as a request from caller {@code rule:<ruleId>}
 * @param decision the policy's decision on that request
 */
public record AutomationAction(String ruleId, PolicyRequest request, Decision decision) {

  public AutomationAction {
    Objects.requireNonNull(ruleId, "ruleId");
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(decision, "decision");
  }

  /** The command's arguments. */
  public JsonNode arguments() {
    return request.arguments();
  }
}
