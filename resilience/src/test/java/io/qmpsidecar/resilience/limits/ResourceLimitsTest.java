package io.qmpsidecar.resilience.limits;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyException;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.impl.codec.QmpMessageDecoder;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.RpcDecodeException;
import io.qmpsidecar.resilience.Figures;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile shapes at every parser: JSON nested {@value #DEPTH} deep (a recursive parser would
 * overflow the stack and take the thread, or the process, with it) and bodies over the size
 * limits. Each is refused with an error that says so, and nothing overflows.
 */
class ResourceLimitsTest {
  static final int DEPTH = 10_000;
  private static int tried;
  private static int refused;

  @TempDir Path dir;

  @AfterAll
  static void figures() {
    Figures.record(Figures.Section.BAD_INPUT, "JSON nested " + DEPTH + " deep, bodies over the limits", tried, refused);
  }

  static String nested(String prefix, String suffix) {
    return prefix + "[".repeat(DEPTH) + "]".repeat(DEPTH) + suffix;
  }

  @Test
  void theQmpDecoderRefusesDeepNestingFromQemu() {
    tried++;
    byte[] line = nested("{\"return\":", ",\"id\":1}").getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> new QmpMessageDecoder(new ObjectMapper()).decode(line))
        .isInstanceOf(QmpProtocolException.class).hasMessageContaining("not JSON");
    refused++;
  }

  @Test
  void theRelayDecoderRefusesDeepNestingFromTheDpu() {
    tried++;
    String text = nested("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"device.list\",\"params\":{\"x\":", "}}");
    assertThatThrownBy(() -> JsonRpcCodec.decode(text)).isInstanceOf(RpcDecodeException.class)
        .hasMessageContaining("not valid JSON");
    refused++;
  }

  @Test
  void thePolicyEngineDeniesADeeplyNestedRequest() {
    tried++;
    PolicyEngine engine = new PolicyEngine(Policies.preset("default"), AuditSink.NONE, Clock.systemUTC());
    Decision d = engine.decideText(new Caller("proxy:x"),
        nested("{\"execute\":\"query-status\",\"arguments\":{\"x\":", "}}"), Optional.empty());
    assertThat(d.effect()).as("%s", d).isEqualTo(Effect.DENY);
    assertThat(d.reason()).isNotBlank();
    refused++;
  }

  @Test
  void thePolicyLoaderRefusesADeeplyNestedFile() {
    tried += 2;
    assertThatThrownBy(() -> Policies.parse(nested("{\"version\":1,\"x\":", "}"), "deep.json", true))
        .isInstanceOf(PolicyException.class);
    refused++;
    assertThatThrownBy(() -> Policies.parse("version: 1\nx: " + "[".repeat(DEPTH) + "]".repeat(DEPTH) + "\n", "deep.yaml", false))
        .isInstanceOf(PolicyException.class);
    refused++;
  }

  @Test
  void theApiRefusesDeepNestingAndOversizedBodies() throws Exception {
    Sidecar sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy")),
        List.of("vm1=unix:" + dir.resolve("no-qemu.qmp"))), Duration.ofSeconds(30));
    Vertx vertx = Vertx.vertx();
    try {
      HttpClient http = vertx.createHttpClient();
      tried++;
      int deep = post(http, "/v1/policy/explain", nested("{\"caller\":\"api:x\",\"command\":", "}"));
      assertThat(deep).as("deeply nested JSON body").isEqualTo(400);
      refused++;
      tried++;
      int big = post(http, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\",\"arguments\":{\"x\":\""
          + "a".repeat(2 * 1024 * 1024) + "\"}}");
      assertThat(big).as("a body over the API's limit").isEqualTo(413);
      refused++;
      assertThat(post(http, "/v1/policy/explain", "{\"caller\":\"api:x\",\"command\":{\"execute\":\"quit\"}}"))
          .as("the API keeps serving").isEqualTo(200);
    } finally {
      vertx.close().await();
      sidecar.stop();
    }
  }

  /** The answer's status; the exchange holds the client until it ends (Vert.x shuts down one nobody references). */
  private int post(HttpClient http, String uri, String body) throws Exception {
    RequestOptions o = new RequestOptions().setServer(SocketAddress.domainSocketAddress(dir.resolve("api.sock").toString()))
        .setHost("localhost").setMethod(HttpMethod.POST).setURI(uri).setTimeout(10_000)
        .putHeader("content-type", "application/json");
    return http.request(o).compose(r -> r.send(Buffer.buffer(body))).compose(r -> r.body().map(b -> r.statusCode()))
        .andThen(ar -> Reference.reachabilityFence(http)).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
  }
}
