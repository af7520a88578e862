package io.qmpsidecar.resilience.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.resilience.FuzzFigures;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * HTTP requests from a local script with a token (or without one) to a running sidecar's TCP
 * API. Whatever the request: an answer comes within its bound, it is never a 500 (an unhandled
 * failure), and every error is a problem+json document that says what happened.
 */
class ApiRequestFuzzTest {
  private static final String TOKEN = "fuzz-token-0123456789abcdef";
  private static final Duration BOUND = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicLong EXECUTIONS = new AtomicLong();
  private static final String[] PREFIXES = {"/v1/vms", "/v1/vms/vm1", "/v1/vms/vm1/devices",
      "/v1/vms/vm1/devices/", "/v1/vms/vm1/qmp", "/v1/vms/vm1/migrations", "/v1/vms/vm1/migration",
      "/v1/policy/explain", "/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/", "/v1/vms/"};
  private static final HttpMethod[] METHODS = {HttpMethod.GET, HttpMethod.POST, HttpMethod.DELETE,
      HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.OPTIONS, HttpMethod.HEAD};
  private static Path dir;
  private static Sidecar sidecar;
  private static Vertx vertx;
  private static HttpClient http;
  private static Context context;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("api-fuzz");
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, "fuzz:" + TOKEN + "\n");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    sidecar = Sidecar.start(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "api.tcp=127.0.0.1:0", "api.tokensFile=" + tokens, "stateDir=" + dir.resolve("state"),
        "proxy.dir=" + dir.resolve("proxy")), List.of("vm1=unix:" + dir.resolve("no-qemu.qmp"))), Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    http = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(sidecar.api().tcpPort()));
  }

  @AfterAll
  static void stop() throws IOException {
    FuzzFigures.record("HTTP API requests", EXECUTIONS.get());
    vertx.close().await();
    sidecar.stop();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @FuzzTest(maxDuration = "10s")
  void requestFromAScript(FuzzedDataProvider data) throws Exception {
    EXECUTIONS.incrementAndGet();
    HttpMethod method = data.pickValue(METHODS);
    // Control characters and spaces would make the client itself write broken HTTP, which
    // tests the client, not the API: they are left out of the URI and the header.
    String uri = data.pickValue(PREFIXES) + data.consumeString(64).replaceAll("[\\p{Cntrl}\\s]", "");
    int auth = data.consumeInt(0, 3);
    String contentType = data.consumeString(32).replaceAll("\\p{Cntrl}", "");
    byte[] body = data.consumeRemainingAsBytes();
    RequestOptions options;
    try {
      options = new RequestOptions().setMethod(method).setURI(uri)
          .setTimeout(BOUND.toMillis()).putHeader("content-type", contentType);
    } catch (IllegalArgumentException e) {
      return;
    }
    if (auth > 0) {
      options.putHeader("authorization", auth == 1 ? "Bearer " + TOKEN : auth == 2 ? "Bearer wrong" : "Basic " + TOKEN);
    }
    // Built on a Vert.x context: chained from this plain thread onto an already completed
    // future, the body handler could be attached after the body arrived.
    Promise<Reply> promise = Promise.promise();
    RequestOptions request = options;
    context.runOnContext(v -> http.request(request)
        .compose(r -> r.send(Buffer.buffer(body)))
        .compose(r -> r.body().map(b -> new Reply(r.statusCode(), r.getHeader("content-type"),
            r.getHeader("www-authenticate"), b)))
        .onComplete(promise));
    Future<Reply> reply = promise.future();
    Reply r;
    try {
      r = reply.toCompletionStage().toCompletableFuture().get(BOUND.toMillis() + 2000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(method + " " + uri + " got no answer within " + BOUND.toSeconds() + " s", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof IllegalArgumentException || e.getCause() instanceof IllegalStateException) {
        return;
      }
      throw e;
    }
    assertThat(r.status()).as("%s %s -> %s", method, uri, r).isNotEqualTo(500).isBetween(200, 599);
    if (auth != 1 && !uri.split("[?#]", 2)[0].equals("/healthz")) {
      assertThat(r.status()).as("%s %s without a valid token: refused, or throttled after many such", method, uri)
          .isIn(401, 429);
    }
    if (r.status() == 401) {
      assertThat(r.authenticate()).as("%s %s -> %s", method, uri, r).isEqualTo("Bearer");
    }
    // Every error answer says what happened. /readyz answers 503 with its own status document,
    // which names what is not ready.
    if (r.status() >= 400 && method != HttpMethod.HEAD
        && !(r.status() == 503 && uri.split("[?#]", 2)[0].replaceAll("/+$", "").equals("/readyz"))
        // Vert.x refuses a URI it cannot decode with a bare "Bad Request" before any route runs
        // (docs/security.md, "Findings and what became of them").
        && !(r.status() == 400 && r.contentType() == null)) {
      assertThat(r.contentType()).as("%s %s -> %s", method, uri, r).startsWith("application/problem+json");
      JsonNode problem = JSON.readTree(r.body().getBytes());
      assertThat(problem.path("detail").asText()).as("%s %s -> %s: the error must say what happened", method, uri, r)
          .isNotBlank();
    }
  }

  record Reply(int status, String contentType, String authenticate, Buffer body) {
    @Override
    public String toString() {
      return status + " " + contentType + " " + body.toString().substring(0, Math.min(200, body.length()));
    }
  }
}
