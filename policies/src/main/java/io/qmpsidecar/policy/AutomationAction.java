package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Objects;

/**
 * A QMP command an automation rule wants run in response to an event, as a request from caller
 * {@code rule:<ruleId>}. It is not decided yet: whoever runs it decides it once with
 * {@link PolicyEngine#decide} and runs it only when that allows it.
 *
 * @param ruleId the automation rule that fired
 * @param request the command, as a request from caller {@code rule:<ruleId>}
 */
public record AutomationAction(String ruleId, PolicyRequest request) {

  public AutomationAction {
    Objects.requireNonNull(ruleId, "ruleId");
    Objects.requireNonNull(request, "request");
  }

  /** The command's arguments. */
  public JsonNode arguments() {
    return request.arguments();
  }
}
