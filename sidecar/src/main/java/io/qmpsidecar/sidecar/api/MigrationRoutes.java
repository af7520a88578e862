package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.daemon.Migrations;
import io.qmpsidecar.sidecar.migration.MigrationMonitor;
import io.qmpsidecar.sidecar.migration.MigrationParameters;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.Optional;

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
    String vm = ctx.pathParam("vm");
    Optional<Migrations.Run> run = migrations.run(vm);
    if (run.isPresent()) {
      ApiServer.json(ctx, 200, view(run.get()));
      return;
    }
    MigrationMonitor adopted = migrations.adopted(vm).orElseThrow(() -> new ApiException(Problem.of(404,
        "no-migration", "No migration", "VM " + vm + " has not been migrated by this sidecar")));
    ApiServer.json(ctx, 200, adoptedView(adopted));
  }

  private void cancel(RoutingContext ctx) {
    String vm = ctx.pathParam("vm");
    Optional<Migrations.Run> run = migrations.run(vm);
    if (run.isPresent()) {
      run.get().migration().cancel().onSuccess(v -> ApiServer.json(ctx, 202, view(run.get()))).onFailure(ctx::fail);
      return;
    }
    MigrationMonitor adopted = migrations.adopted(vm).orElseThrow(() -> new ApiException(Problem.of(404,
        "no-migration", "No migration", "VM " + vm + " has no migration to cancel")));
    migrations.cancelAdopted(vm).onSuccess(v -> ApiServer.json(ctx, 202, adoptedView(adopted))).onFailure(ctx::fail);
  }

  /** A migration found running at start: followed, not coordinated, so its state is QEMU's. */
  private static ObjectNode adoptedView(MigrationMonitor monitor) {
    ObjectNode o = JSON.createObjectNode().put("vm", monitor.vm()).put("state", "ADOPTED")
        .put("detail", "in progress when the sidecar connected; followed, not coordinated");
    o.set("source", JSON.valueToTree(monitor.record()));
    return o;
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
