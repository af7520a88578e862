package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * /v1/openapi.json documents exactly the routes the API serves, each as a complete operation: a
 * route added without its documentation (or documentation left for a route removed) fails here.
 */
class OpenApiTest {
  private final Vertx vertx = Vertx.vertx();
  private final OpenApiContract contract = new OpenApiContract();

  @AfterEach
  void close() {
    vertx.close();
  }

  @Test
  void theDocumentListsEveryRouteWithItsMethodAndNoOther() {
    SidecarConfig config = ConfigLoader.load(null, Map.of(), List.of(), List.of());
    // Routes only: nothing is served, so the operations layer is not needed.
    ApiServer api = new ApiServer(vertx, config.api(), new ApiServer.Services(null, null,
        new EventStream(vertx, Clock.systemUTC(), 16), new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
        Clock.systemUTC()), new SidecarMetrics(), List::of));
    List<String> documented = contract.operations().stream().map(o -> o.method() + " " + o.template()).toList();
    assertThat(api.documentedOperations()).containsExactlyInAnyOrderElementsOf(documented);
  }

  @Test
  void everyOperationHasAUniqueIdItsPathParametersAndTypedAnswers() {
    List<String> ids = new ArrayList<>();
    for (OpenApiContract.Operation op : contract.operations()) {
      String name = op.method() + " " + op.template();
      assertThat(op.id()).as("operationId of %s", name).matches("[a-z][A-Za-z]+");
      ids.add(op.id());
      List<String> pathParams = new ArrayList<>();
      op.node().path("parameters").forEach(p -> {
        if (p.path("in").asText().equals("path")) {
          pathParams.add("{" + p.path("name").asText() + "}");
        }
      });
      assertThat(pathParams).as("path parameters of %s", name)
          .containsExactlyInAnyOrderElementsOf(java.util.regex.Pattern.compile("\\{[^}]+}").matcher(op.template())
              .results().map(r -> r.group()).toList());
      assertThat(op.node().path("responses").size()).as("responses of %s", name).isPositive();
      op.node().path("responses").fields().forEachRemaining(r -> {
        JsonNode response = r.getValue().has("$ref") ? contract.document().at(r.getValue().path("$ref").asText().substring(1))
            : r.getValue();
        assertThat(response.path("description").asText()).as("%s %s: description", name, r.getKey()).isNotBlank();
        assertThat(response.path("content").size()).as("%s %s: content", name, r.getKey()).isPositive();
        response.path("content").fields().forEachRemaining(c -> {
          // Compiling each schema resolves its references: a dangling $ref fails here.
          contract.schema(c.getValue().path("schema"));
          if (r.getKey().compareTo("400") >= 0) {
            assertThat(c.getKey()).as("%s %s", name, r.getKey()).isIn("application/problem+json", "application/json");
          }
        });
      });
    }
    assertThat(ids).doesNotHaveDuplicates();
  }

  @Test
  void theDocumentParsesAsClientGeneratorsParseItWithoutAMessage() throws Exception {
    String text;
    try (java.io.InputStream in = OpenApiTest.class.getResourceAsStream("/openapi.json")) {
      text = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    SwaggerParseResult result = new OpenAPIV3Parser().readContents(text, null, options);
    assertThat(result.getMessages()).as("what the parser of openapi-generator says about the document").isEmpty();
    assertThat(result.getOpenAPI().getComponents().getSchemas()).containsKeys("Problem", "Event", "StreamItem");
    long operations = result.getOpenAPI().getPaths().values().stream().mapToLong(p -> p.readOperations().size()).sum();
    assertThat(operations).isEqualTo(contract.operations().size());
  }

  @Test
  void theTokenIsDeclaredAndTheUnixSocketNeedsNone() {
    JsonNode doc = contract.document();
    assertThat(doc.at("/components/securitySchemes/bearerToken/type").asText()).isEqualTo("http");
    assertThat(doc.at("/components/securitySchemes/bearerToken/scheme").asText()).isEqualTo("bearer");
    assertThat(doc.path("security").toString()).isEqualTo("[{},{\"bearerToken\":[]}]");
    assertThat(doc.at("/paths/~1healthz/get/security").toString()).as("/healthz needs no token on TCP either")
        .isEqualTo("[{}]");
  }
}
