package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code /v1/vms/{vm}/devices}: attach, detach and list through the operations layer (host
 * prep, policy with the resolved facts, placement, verification, completion). Each request
 * waits for its operation; {@code opId} makes a repeated request return the first one's result.
 */
final class DeviceRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EXAMPLE = "{\"bdf\":\"0000:03:00.2\"}";
  private final Operations operations;

  /** The body of an attach, bound strictly (docs/openapi.json, AttachRequest). */
  record AttachBody(String bdf, String pf, Integer vf, String mdev, String driver, String hostDriver, String id, String rootPort,
      Options options, String opId) {}

  /** Optional {@code vfio-pci} properties of an attach. */
  record Options(Boolean enableMigration, Boolean migrationEvents, String failoverPairId, Integer rombar) {}

  DeviceRoutes(Operations operations) {
    this.operations = operations;
  }

  void mount(Router router) {
    router.get("/v1/vms/:vm/devices").handler(ApiServer.query()).handler(this::list);
    router.post("/v1/vms/:vm/devices").handler(ApiServer.query()).handler(this::attach);
    router.delete("/v1/vms/:vm/devices/:id").handler(ApiServer.query("restoreHostDriver", "opId"))
        .handler(this::detach);
  }

  private void list(RoutingContext ctx) {
    operations.attachments(ApiServer.caller(ctx), ctx.pathParam("vm")).onSuccess(list -> {
      ArrayNode out = JSON.createArrayNode();
      list.forEach(a -> out.add(JSON.valueToTree(a)));
      ApiServer.json(ctx, 200, out);
    }).onFailure(ctx::fail);
  }

  private void attach(RoutingContext ctx) {
    AttachBody body = StrictJson.bind(ctx.body().asString(), AttachBody.class, EXAMPLE);
    AttachRequest request;
    try {
      request = new AttachRequest(ctx.pathParam("vm"), body.driver() == null ? "vfio-pci" : body.driver(),
          function(body), body.hostDriver(), body.id(), body.rootPort(), options(body.options()), body.opId());
    } catch (IllegalArgumentException e) {
      throw Failures.badRequest(e.getMessage());
    }
    operations.attach(ApiServer.caller(ctx), request)
        .onSuccess(a -> ApiServer.json(ctx, 201, JSON.valueToTree(a)))
        .onFailure(ctx::fail);
  }

  private void detach(RoutingContext ctx) {
    String restore = ctx.queryParams().get("restoreHostDriver");
    if (restore != null && !restore.equals("true") && !restore.equals("false")) {
      throw Failures.badRequest("restoreHostDriver must be true or false, got '" + restore + "'");
    }
    DetachRequest request;
    try {
      request = new DetachRequest(ctx.pathParam("vm"), ctx.pathParam("id"), "true".equals(restore),
          ctx.queryParams().get("opId"));
    } catch (IllegalArgumentException e) {
      throw Failures.badRequest(e.getMessage());
    }
    operations.detach(ApiServer.caller(ctx), request).onSuccess(r -> {
      // 200: gone; 202: accepted, the guest has not released it yet (device.detached follows).
      int status = switch (r.outcome()) {
        case PENDING -> 202;
        case REJECTED -> 409;
        default -> 200;
      };
      ApiServer.json(ctx, status, JSON.valueToTree(r));
    }).onFailure(ctx::fail);
  }

  private static FunctionRef function(AttachBody body) {
    if (body.mdev() != null) {
      if (body.bdf() != null || body.pf() != null || body.vf() != null) {
        throw new IllegalArgumentException("name the device by 'mdev' alone, not with 'bdf', 'pf' or 'vf'");
      }
      return FunctionRef.mdev(body.mdev());
    }
    if (body.bdf() != null) {
      if (body.pf() != null || body.vf() != null) {
        throw new IllegalArgumentException("name the function by 'bdf' or by 'pf' and 'vf', not both");
      }
      return FunctionRef.of(Bdf.parse(body.bdf()));
    }
    if (body.pf() != null) {
      if (body.vf() == null) {
        throw new IllegalArgumentException("'pf' needs 'vf', the VF index (a number)");
      }
      return FunctionRef.vf(Bdf.parse(body.pf()), body.vf());
    }
    if (body.vf() != null) {
      throw new IllegalArgumentException("'vf' needs 'pf', the physical function's BDF");
    }
    return null;
  }

  private static DeviceOptions options(Options o) {
    return o == null ? DeviceOptions.NONE
        : new DeviceOptions(o.enableMigration(), o.migrationEvents(), o.failoverPairId(), o.rombar());
  }
}
