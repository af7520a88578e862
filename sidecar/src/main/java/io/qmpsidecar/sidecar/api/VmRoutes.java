package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.SchemaViolation;
import io.qmpsidecar.sidecar.daemon.VmHandle;
import io.qmpsidecar.sidecar.daemon.VmRegistry;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.Future;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** {@code /v1/vms}: the configured VMs, their status, and policy-checked QMP passthrough. */
final class VmRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final VmRegistry vms;
  private final PolicyEngine policy;
  private final SidecarMetrics metrics;

  VmRoutes(VmRegistry vms, PolicyEngine policy, SidecarMetrics metrics) {
    this.vms = vms;
    this.policy = policy;
    this.metrics = metrics;
  }

  void mount(Router router) {
    router.get("/v1/vms").handler(this::list);
    router.get("/v1/vms/:vm").handler(this::show);
    router.post("/v1/vms/:vm/qmp").handler(this::passthrough);
  }

  private void list(RoutingContext ctx) {
    ArrayNode out = JSON.createArrayNode();
    vms.all().forEach(vm -> out.add(summary(vm)));
    ApiServer.json(ctx, 200, out);
  }

  private ObjectNode summary(VmHandle vm) {
    ObjectNode o = JSON.createObjectNode().put("name", vm.name()).put("qmp", vm.address().toString())
        .put("state", vm.state().name().toLowerCase());
    vm.ready().onSuccess(c -> o.put("qemu", c.greeting().version().toString()));
    if (vm.state() != QmpState.READY) {
      o.put("error", vm.lastError());
    }
    return o;
  }

  private void show(RoutingContext ctx) {
    VmHandle vm = vms.get(ctx.pathParam("vm"));
    ObjectNode o = summary(vm);
    vm.ready().compose(QmpConnection::queryStatus)
        .onSuccess(s -> ApiServer.json(ctx, 200, o.put("status", s.status()).put("running", s.running())))
        .onFailure(ctx::fail);
  }

  /**
   * The body is a QMP command as QEMU takes it. The raw text is what the policy sees, so that
   * duplicate keys and other spellings cannot slip past it.
   */
  private void passthrough(RoutingContext ctx) {
    VmHandle vm = vms.get(ctx.pathParam("vm"));
    String raw = ctx.body().asString();
    if (raw == null || raw.isBlank()) {
      throw ApiException.badRequest("the body must be a QMP command, e.g. {\"execute\":\"query-status\"}");
    }
    Caller caller = ApiServer.caller(ctx);
    Decision decision = policy.decideText(caller, raw, Optional.empty());
    metrics.policyDecision(caller.id(), decision.allowed());
    if (!decision.allowed()) {
      throw new ApiException(Problem.denied(decision));
    }
    JsonNode request = parse(raw);
    String command = request.path("execute").asText();
    ObjectNode args = request.get("arguments") instanceof ObjectNode a ? a : null;
    boolean validate = "true".equals(ctx.queryParams().get("validate"));
    long start = System.nanoTime();
    vm.ready()
        .compose(c -> validate ? c.schema().map(s -> check(s.validate(command, args))).map(v -> c) : Future.succeededFuture(c))
        .compose(c -> c.execute(QmpCommand.raw(command, args)))
        .onComplete(ar -> metrics.qmpCommand(vm.name(), command, ar.succeeded() ? "ok" : outcome(ar.cause()),
            Duration.ofNanos(System.nanoTime() - start)))
        .onSuccess(ret -> ApiServer.json(ctx, 200, JSON.createObjectNode().set("return", ret)))
        .onFailure(ctx::fail);
  }

  private static Void check(List<SchemaViolation> violations) {
    if (!violations.isEmpty()) {
      Problem p = Problem.of(400, "schema-violation", "The command does not fit QEMU's schema",
          violations.size() + " problem(s): " + violations);
      ArrayNode list = p.extensions().putArray("violations");
      violations.forEach(v -> list.addObject().put("path", v.path()).put("message", v.message()));
      throw new ApiException(p);
    }
    return null;
  }

  private static String outcome(Throwable e) {
    return e instanceof io.qmpsidecar.qmp.QmpCommandException q ? q.errorClass() : e.getClass().getSimpleName();
  }

  private static JsonNode parse(String raw) {
    try {
      JsonNode node = JSON.readTree(raw);
      if (node == null || !node.path("execute").isTextual()) {
        throw ApiException.badRequest("the body must be a JSON object with \"execute\"");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw ApiException.badRequest("the body is not JSON: " + e.getOriginalMessage());
    }
  }
}
