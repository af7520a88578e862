package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.time.Clock;
import java.util.Optional;

/**
 * {@code POST /v1/policy/explain}: what the policy in force decides for a caller and a command,
 * and which rule decided. It explains; it runs nothing.
 */
final class PolicyRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final PolicyEngine policy;

  PolicyRoutes(PolicyEngine policy) {
    this.policy = policy;
  }

  void mount(Router router) {
    router.post("/v1/policy/explain").handler(this::explain);
  }

  private void explain(RoutingContext ctx) {
    JsonNode body;
    try {
      body = JSON.readTree(ctx.body().asString() == null ? "" : ctx.body().asString());
    } catch (IOException e) {
      throw ApiException.badRequest("the body is not JSON: " + e.getMessage());
    }
    if (body == null || !body.path("caller").isTextual() || !body.path("command").isObject()) {
      throw ApiException.badRequest("expected {\"caller\": \"dpu\", \"command\": {\"execute\": …}}");
    }
    Caller caller;
    try {
      caller = new Caller(body.get("caller").asText());
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    // A throwaway engine over the same compiled policy: explaining spends no rate-limit tokens
    // and writes no audit record.
    Decision d = new PolicyEngine(policy.policy(), AuditSink.NONE, Clock.systemUTC())
        .decideText(caller, body.get("command").toString(), Optional.empty());
    ApiServer.json(ctx, 200, JSON.createObjectNode().put("caller", caller.id())
        .put("effect", d.allowed() ? "allow" : "deny").put("rule", d.ruleId()).put("reason", d.reason()));
  }
}
