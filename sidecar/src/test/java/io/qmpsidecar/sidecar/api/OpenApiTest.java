package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.Vertx;
import java.io.InputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** /v1/openapi.json documents exactly the routes the API serves. */
class OpenApiTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() {
    vertx.close();
  }

  @Test
  void theDocumentListsEveryRouteAndNoOther() throws Exception {
    SidecarConfig config = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    // Routes only: nothing is served, so the operations layer is not needed.
    ApiServer api = new ApiServer(vertx, config.api(), new ApiServer.Services(null, null,
        new EventStream(vertx, Clock.systemUTC(), 16), new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
        Clock.systemUTC()), new SidecarMetrics(), List::of));
    JsonNode doc;
    try (InputStream in = OpenApiTest.class.getResourceAsStream("/openapi.json")) {
      doc = new ObjectMapper().readTree(in);
    }
    List<String> documented = new ArrayList<>();
    doc.path("paths").fieldNames().forEachRemaining(documented::add);
    assertThat(api.documentedPaths()).containsExactlyInAnyOrderElementsOf(documented);
  }
}
