package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.daemon.Migrations;
import io.qmpsidecar.sidecar.migration.MigrationParameters;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;

/**
 * {@code /v1/vms/{vm}/migrations} (start) and {@code /v1/vms/{vm}/migration} (the current or
 * last run: status, cancel). Starting answers 202 at once; the run's progress follows on
 * {@code GET} and as {@code migration.*} events.
 */
final class MigrationRoutes {
  private static final ObjectMapper JSON = ApiServer.JSON;
  private final Migrations migrations;

  MigrationRoutes(Migrations migrations) {
    this.migrations = migrations;
  }

  void mount(Router router) {
    router.post("/v1/vms/:vm/migrations").handler(this::start);
    router.get("/v1/vms/:vm/migration").handler(this::status);
    router.delete("/v1/vms/:vm/migration").handler(this::cancel);
  }

  private void start(RoutingContext ctx) {
    JsonNode body;
    try {
      String text = ctx.body().asString();
      body = text == null ? null : JSON.readTree(text);
    } catch (IOException e) {
      throw ApiException.badRequest("the body is not JSON: " + e.getMessage());
    }
    if (body == null || !body.path("destination").isTextual() || !body.path("uri").isTextual()) {
      throw ApiException.badRequest("expected {\"destination\": \"vm2\", \"uri\": \"tcp:127.0.0.1:4444\", "
          + "\"strategy\": \"unplug-replug\", \"parameters\": {\"maxBandwidth\": 1000000, \"downtimeLimitMs\": 300}}");
    }
    Strategy strategy;
    try {
      strategy = Strategy.of(body.path("strategy").asText("unplug-replug"));
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest(e.getMessage());
    }
    JsonNode p = body.path("parameters");
    MigrationParameters parameters = new MigrationParameters(p.path("maxBandwidth").asLong(-1),
        p.path("downtimeLimitMs").asLong(-1));
    migrations.start(ApiServer.caller(ctx), ctx.pathParam("vm"), body.get("destination").asText(),
        body.get("uri").asText(), strategy, parameters)
        .onSuccess(run -> ApiServer.json(ctx, 202, view(run)))
        .onFailure(ctx::fail);
  }

  private void status(RoutingContext ctx) {
    Migrations.Run run = migrations.run(ctx.pathParam("vm")).orElseThrow(() -> new ApiException(Problem.of(404,
        "no-migration", "No migration", "VM " + ctx.pathParam("vm") + " has not been migrated by this sidecar")));
    ApiServer.json(ctx, 200, view(run));
  }

  private void cancel(RoutingContext ctx) {
    Migrations.Run run = migrations.run(ctx.pathParam("vm")).orElseThrow(() -> new ApiException(Problem.of(404,
        "no-migration", "No migration", "VM " + ctx.pathParam("vm") + " has no migration to cancel")));
    run.migration().cancel().onSuccess(v -> ApiServer.json(ctx, 202, view(run))).onFailure(ctx::fail);
  }

  private static ObjectNode view(Migrations.Run run) {
    ObjectNode o = JSON.createObjectNode().put("vm", run.vm()).put("destination", run.destination())
        .put("state", run.migration().state().name());
    o.set("source", JSON.valueToTree(run.migration().sourceRecord()));
    if (run.migration().destinationRecord() != null) {
      o.set("destinationRecord", JSON.valueToTree(run.migration().destinationRecord()));
    }
    run.migration().result().onFailure(e -> o.put("error", e.getMessage()));
    return o;
  }
}
