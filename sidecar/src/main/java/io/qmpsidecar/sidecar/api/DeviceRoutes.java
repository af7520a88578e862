package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;

/**
 * {@code /v1/vms/{vm}/devices}: attach, detach and list through the operations layer (host
 * prep, policy with the resolved facts, placement, verification, completion). Each request
 * waits for its operation; {@code opId} makes a repeated request return the first one's result.
 */
final class DeviceRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Operations operations;

  DeviceRoutes(Operations operations) {
    this.operations = operations;
  }

  void mount(Router router) {
    router.get("/v1/vms/:vm/devices").handler(this::list);
    router.post("/v1/vms/:vm/devices").handler(this::attach);
    router.delete("/v1/vms/:vm/devices/:id").handler(this::detach);
  }

  private void list(RoutingContext ctx) {
    operations.attachments(ctx.pathParam("vm")).onSuccess(list -> {
      ArrayNode out = JSON.createArrayNode();
      list.forEach(a -> out.add(JSON.valueToTree(a)));
      ApiServer.json(ctx, 200, out);
    }).onFailure(ctx::fail);
  }

  private void attach(RoutingContext ctx) {
    JsonNode body = body(ctx);
    AttachRequest request;
    try {
      request = new AttachRequest(ctx.pathParam("vm"), text(body, "driver", "vfio-pci"), function(body),
          text(body, "hostDriver", null), text(body, "id", null), text(body, "rootPort", null), options(body),
          text(body, "opId", null));
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    operations.attach(ApiServer.caller(ctx), request)
        .onSuccess(a -> ApiServer.json(ctx, 201, JSON.valueToTree(a)))
        .onFailure(ctx::fail);
  }

  private void detach(RoutingContext ctx) {
    boolean restore = "true".equals(ctx.queryParams().get("restoreHostDriver"));
    DetachRequest request;
    try {
      request = new DetachRequest(ctx.pathParam("vm"), ctx.pathParam("id"), restore, ctx.queryParams().get("opId"));
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
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

  private static JsonNode body(RoutingContext ctx) {
    try {
      String text = ctx.body().asString();
      JsonNode node = text == null ? null : JSON.readTree(text);
      if (node == null || !node.isObject()) {
        throw ApiException.badRequest("the body must be a JSON object, e.g. {\"bdf\":\"0000:03:00.2\"}");
      }
      return node;
    } catch (IOException e) {
      throw ApiException.badRequest("the body is not JSON: " + e.getMessage());
    }
  }

  private static FunctionRef function(JsonNode body) {
    if (body.hasNonNull("bdf")) {
      return FunctionRef.of(Bdf.parse(body.get("bdf").asText()));
    }
    if (body.hasNonNull("pf")) {
      if (!body.path("vf").canConvertToInt()) {
        throw new IllegalArgumentException("'pf' needs 'vf', the VF index (a number)");
      }
      return FunctionRef.vf(Bdf.parse(body.get("pf").asText()), body.get("vf").asInt());
    }
    return null;
  }

  private static DeviceOptions options(JsonNode body) {
    JsonNode o = body.path("options");
    if (o.isMissingNode() || o.isNull()) {
      return DeviceOptions.NONE;
    }
    return new DeviceOptions(o.has("enableMigration") ? o.get("enableMigration").asBoolean() : null,
        o.has("migrationEvents") ? o.get("migrationEvents").asBoolean() : null,
        o.hasNonNull("failoverPairId") ? o.get("failoverPairId").asText() : null,
        o.has("rombar") ? o.get("rombar").asInt() : null);
  }

  private static String text(JsonNode body, String field, String fallback) {
    JsonNode v = body.get(field);
    return v == null || v.isNull() ? fallback : v.asText();
  }
}
