package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/** {@code /v1/vms}: the configured VMs, their status, and policy-checked QMP passthrough. */
final class VmRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EXAMPLE = "{\"execute\":\"query-status\"}";
  private final Operations operations;

  /**
   * A QMP command as QEMU takes it; {@code id} is accepted and not used (the answer is the HTTP
   * response).
   */
  record Command(String execute, ObjectNode arguments, JsonNode id) {
    Command {
      if (execute == null) {
        throw new IllegalArgumentException("the body lacks member 'execute', the command's name, e.g. " + EXAMPLE);
      }
    }
  }

  VmRoutes(Operations operations) {
    this.operations = operations;
  }

  void mount(Router router) {
    router.get("/v1/vms").handler(ApiServer.query()).handler(this::list);
    router.get("/v1/vms/:vm").handler(ApiServer.query()).handler(this::show);
    router.post("/v1/vms/:vm/qmp").handler(ApiServer.query("validate", "acceptTaint")).handler(this::passthrough);
  }

  private void list(RoutingContext ctx) {
    ArrayNode out = JSON.createArrayNode();
    operations.vms(ApiServer.caller(ctx)).forEach(vm -> out.add(summary(vm)));
    ApiServer.json(ctx, 200, out);
  }

  private static ObjectNode summary(VmHandle vm) {
    ObjectNode o = JSON.createObjectNode().put("name", vm.name());
    if (vm.libvirt() == null) {
      o.put("qmp", vm.address().toString());
    } else {
      o.putObject("libvirt").put("uri", vm.libvirt().config().uri()).put("domain", vm.libvirt().config().domain())
          .put("passthrough", vm.libvirt().config().passthrough() ? "query commands only; the first one taints the domain"
              : "off (it would taint the domain)");
    }
    o.put("state", vm.state().name().toLowerCase());
    vm.ready().onSuccess(c -> o.put("qemu", c.greeting().version().toString()));
    if (vm.state() != QmpState.READY) {
      o.put("error", vm.lastError());
    }
    return o;
  }

  private void show(RoutingContext ctx) {
    String name = ctx.pathParam("vm");
    operations.status(ApiServer.caller(ctx), name)
        .onSuccess(s -> ApiServer.json(ctx, 200, summary(operations.vm(name)).put("status", s.status())
            .put("running", s.running())))
        .onFailure(ctx::fail);
  }

  /**
   * The body is a QMP command as QEMU takes it, bound strictly: the policy decides on exactly the
   * command and arguments that are sent.
   */
  private void passthrough(RoutingContext ctx) {
    Command command = StrictJson.bind(ctx.body().asString(), Command.class, EXAMPLE);
    String validate = ctx.queryParams().get("validate");
    if (validate != null && !validate.equals("true") && !validate.equals("false")) {
      throw Failures.badRequest("validate must be true or false, got '" + validate + "'");
    }
    String acceptTaint = ctx.queryParams().get("acceptTaint");
    if (acceptTaint != null && !acceptTaint.equals("true") && !acceptTaint.equals("false")) {
      throw Failures.badRequest("acceptTaint must be true or false, got '" + acceptTaint + "'");
    }
    operations.passthrough(ApiServer.caller(ctx), ctx.pathParam("vm"), command.execute(), command.arguments(),
            "true".equals(validate), "true".equals(acceptTaint))
        .onSuccess(ret -> ApiServer.json(ctx, 200, JSON.createObjectNode().set("return", ret)))
        .onFailure(ctx::fail);
  }
}
