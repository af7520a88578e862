package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.migration.MigrationMonitor;
import io.qmpsidecar.sidecar.migration.MigrationParameters;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.qmpsidecar.sidecar.ops.Migrations;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * {@code /v1/vms/{vm}/migrations} (start) and {@code /v1/vms/{vm}/migration} (the current or
 * last run: status, cancel). Starting answers 202 at once; the run's progress follows on
 * {@code GET} and as {@code migration.*} events. {@code /v1/vms/{vm}/live-update}: a new QEMU
 * binary takes over the running VM (docs/live-update.md).
 */
final class MigrationRoutes {
  private static final ObjectMapper JSON = ApiServer.JSON;
  private static final String EXAMPLE = "{\"destination\": \"vm2\", \"uri\": \"tcp:127.0.0.1:4444\", "
      + "\"strategy\": \"unplug-replug\", \"parameters\": {\"maxBandwidth\": 1000000, \"downtimeLimitMs\": 300}}";
  private static final String LIVE_UPDATE_EXAMPLE = "{\"qemu\": \"/usr/bin/qemu-system-x86_64\"}";
  private final Migrations migrations;

  /** The body of a migration start, bound strictly. */
  record StartBody(String destination, String uri, String strategy, Parameters parameters) {
    StartBody {
      if (destination == null || uri == null) {
        throw new IllegalArgumentException("the body needs 'destination' (a VM of this sidecar started with"
            + " -incoming defer) and 'uri', e.g. " + EXAMPLE);
      }
    }
  }

  /** Migration parameters: bytes per second, and the downtime limit in milliseconds. */
  record Parameters(Long maxBandwidth, Long downtimeLimitMs) {}

  MigrationRoutes(Migrations migrations) {
    this.migrations = migrations;
  }

  void mount(Router router) {
    router.post("/v1/vms/:vm/migrations").handler(ApiServer.query()).handler(this::start);
    router.get("/v1/vms/:vm/migration").handler(ApiServer.query()).handler(this::status);
    router.delete("/v1/vms/:vm/migration").handler(ApiServer.query()).handler(this::cancel);
    router.post("/v1/vms/:vm/live-update").handler(ApiServer.query()).handler(this::liveUpdate);
  }

  /** The body of a live update: the new QEMU binary, or none for the running one's path. */
  record LiveUpdateBody(String qemu) {}

  /** Answers when the update has completed or been rolled back (seconds); its steps are {@code liveupdate.*} events. */
  private void liveUpdate(RoutingContext ctx) {
    String text = ctx.body().asString();
    LiveUpdateBody body = text == null || text.isBlank() ? new LiveUpdateBody(null)
        : StrictJson.bind(text, LiveUpdateBody.class, LIVE_UPDATE_EXAMPLE);
    if (body.qemu() != null && !body.qemu().startsWith("/")) {
      throw Failures.badRequest("'qemu' must be an absolute path to a QEMU binary, e.g. " + LIVE_UPDATE_EXAMPLE);
    }
    migrations.liveUpdate(ApiServer.caller(ctx), ctx.pathParam("vm"), body.qemu())
        .onSuccess(r -> ApiServer.json(ctx, 200, JSON.valueToTree(r)))
        .onFailure(ctx::fail);
  }

  private void start(RoutingContext ctx) {
    StartBody body = StrictJson.bind(ctx.body().asString(), StartBody.class, EXAMPLE);
    Strategy strategy;
    MigrationParameters parameters;
    try {
      strategy = Strategy.of(body.strategy() == null ? "unplug-replug" : body.strategy());
      Parameters p = body.parameters() == null ? new Parameters(null, null) : body.parameters();
      parameters = new MigrationParameters(p.maxBandwidth() == null ? -1 : p.maxBandwidth(),
          p.downtimeLimitMs() == null ? -1 : p.downtimeLimitMs());
    } catch (IllegalArgumentException e) {
      throw Failures.badRequest(e.getMessage());
    }
    migrations.start(ApiServer.caller(ctx), ctx.pathParam("vm"), body.destination(), body.uri(), strategy, parameters)
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
    MigrationMonitor adopted = migrations.adopted(vm).orElseThrow(() -> SidecarException.of(Kind.NOT_FOUND,
        "no-migration", "VM " + vm + " has not been migrated by this sidecar").vm(vm).build());
    ApiServer.json(ctx, 200, adoptedView(adopted));
  }

  private void cancel(RoutingContext ctx) {
    String vm = ctx.pathParam("vm");
    migrations.cancel(ApiServer.caller(ctx), vm).onSuccess(v -> {
      Optional<Migrations.Run> run = migrations.run(vm);
      ApiServer.json(ctx, 202, run.isPresent() ? view(run.get()) : adoptedView(migrations.adopted(vm).orElseThrow()));
    }).onFailure(ctx::fail);
  }

  /** A migration found running at start: followed, not coordinated, so its state is QEMU's. */
  private static ObjectNode adoptedView(MigrationMonitor monitor) {
    ObjectNode o = JSON.createObjectNode().put("vm", monitor.vm()).put("state", "ADOPTED")
        .put("detail", "in progress when the sidecar connected; followed, not coordinated");
    o.set("source", JSON.valueToTree(monitor.record()));
    return o;
  }

  private static ObjectNode view(Migrations.Run run) {
    if (run.libvirt() != null) {
      ObjectNode o = JSON.createObjectNode().put("vm", run.vm()).put("destination", run.destination())
          .put("state", run.libvirt().state().name()).put("backend", "libvirt")
          .put("strategy", run.libvirt().strategy().wireName()).put("startedAt", run.libvirt().startedAt().toString());
      run.libvirt().result().onFailure(e -> o.put("error", e.getMessage()));
      return o;
    }
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
