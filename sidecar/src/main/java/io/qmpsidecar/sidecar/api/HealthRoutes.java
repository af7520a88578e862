package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** {@code /healthz} (the process serves), {@code /readyz} (every part is up), {@code /metrics}, the OpenAPI document. */
final class HealthRoutes {
  private final SidecarMetrics metrics;
  private final Readiness readiness;
  private final Buffer openApi;

  HealthRoutes(SidecarMetrics metrics, Readiness readiness) {
    this.metrics = metrics;
    this.readiness = readiness;
    try (InputStream in = HealthRoutes.class.getResourceAsStream("/openapi.json")) {
      this.openApi = Buffer.buffer(in.readAllBytes());
    } catch (IOException | NullPointerException e) {
      throw new UncheckedIOException("openapi.json is missing from the sidecar jar", new IOException(e));
    }
  }

  void mount(Router router) {
    router.get("/healthz").handler(ApiServer.query())
        .handler(ctx -> ctx.response().putHeader("content-type", "text/plain").end("ok\n"));
    router.get("/readyz").handler(ApiServer.query()).handler(ctx -> {
      List<String> problems = readiness.notReady();
      ObjectNode body = JsonNodeFactory.instance.objectNode().put("ready", problems.isEmpty());
      problems.forEach(body.putArray("notReady")::add);
      ApiServer.json(ctx, problems.isEmpty() ? 200 : 503, body);
    });
    mountMetrics(router);
    router.get("/v1/openapi.json").handler(ApiServer.query())
        .handler(ctx -> ctx.response().putHeader("content-type", "application/json").end(openApi));
  }

  /**
   * {@code /metrics} alone: all the metrics listener ({@code api.metrics}) serves. Query
   * parameters are ignored, not refused: a scraper may be configured to send some.
   */
  void mountMetrics(Router router) {
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(metrics.scrape()));
  }
}
