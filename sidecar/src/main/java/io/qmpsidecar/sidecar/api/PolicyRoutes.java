package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.sidecar.failure.Failures;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Clock;
import java.util.Optional;

/**
 * {@code POST /v1/policy/explain}: what the policy in force decides for a caller and a command,
 * and which rule decided. It explains; it runs nothing.
 */
final class PolicyRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EXAMPLE = "{\"caller\": \"dpu\", \"command\": {\"execute\": \"query-status\"}}";
  private final PolicyEngine policy;

  /** What to explain: a caller and a QMP command. */
  record ExplainBody(String caller, ObjectNode command) {
    ExplainBody {
      if (caller == null || command == null) {
        throw new IllegalArgumentException("expected " + EXAMPLE);
      }
    }
  }

  PolicyRoutes(PolicyEngine policy) {
    this.policy = policy;
  }

  void mount(Router router) {
    router.post("/v1/policy/explain").handler(ApiServer.query()).handler(this::explain);
  }

  private void explain(RoutingContext ctx) {
    ExplainBody body = StrictJson.bind(ctx.body().asString(), ExplainBody.class, EXAMPLE);
    Caller caller;
    try {
      caller = new Caller(body.caller());
    } catch (IllegalArgumentException e) {
      throw Failures.badRequest(e.getMessage());
    }
    // A throwaway engine over the same compiled policy: explaining spends no rate-limit tokens
    // and writes no audit record.
    Decision d = new PolicyEngine(policy.policy(), policy.valueSets(), AuditSink.NONE, Clock.systemUTC())
        .decideText(caller, body.command().toString(), Optional.empty());
    ApiServer.json(ctx, 200, JSON.createObjectNode().put("caller", caller.id())
        .put("effect", d.allowed() ? "allow" : "deny").put("rule", d.ruleId()).put("reason", d.reason()));
  }
}
