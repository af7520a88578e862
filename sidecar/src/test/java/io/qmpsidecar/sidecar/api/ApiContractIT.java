package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.FlowTestPolicy;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The API of a real daemon in front of real QEMUs answers as docs' OpenAPI document says: every
 * operation is called, with requests the document describes and requests it does not, and each
 * request and each answer (status, content type, body) is checked against the document with its
 * JSON schemas ({@link OpenApiContract}). A request the document calls invalid must be refused
 * with 400; every operation must have answered at least one success and one error. The second
 * QEMU is the migration's destination (started with -incoming defer).
 */
class ApiContractIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "0123456789abcdef0123456789abcdef";
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final OpenApiContract contract = new OpenApiContract();
  private Sidecar sidecar;
  private TestConfig config;
  private QemuProcess destination;
  private HttpClient http;
  private Context context;

  /** An answer as it came: status, content type and the body's text. */
  private record Answer(int status, String contentType, String body, io.vertx.core.MultiMap headers) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }
  }

  private void start(QemuBinary binary) throws Exception {
    Path tokens = Files.writeString(harness.dir().resolve("tokens"), "ci:" + TOKEN + "\n");
    destination = harness.qemu(binary, "vm2", 1, "-incoming", "defer");
    // QEMU 10.0 and later can be live-updated (cpr-transfer) when started so; 7.2 refuses with 409.
    String[] cprReady = binary.major() >= 10 ? new String[] {"-object", "memory-backend-memfd,id=ram0,size=64M,share=on",
        "-machine", "memory-backend=ram0,aux-ram-share=on"} : new String[0];
    config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 2, cprReady)).vm("vm2", destination)
        .detachWait(Duration.ofMillis(300)).policyFile(FlowTestPolicy.write(harness.dir(), liveUpdateRule()))
        .set("liveUpdate.binaries", binary.path().toString()).apiTcp("127.0.0.1:0", tokens);
    sidecar = harness.startReady(config);
    http = harness.vertx().createHttpClient();
    context = harness.vertx().getOrCreateContext();
  }

  /** What the curl line of docs/operations.md's "The API contract" writes, run on this daemon's socket. */
  private String docsCurl() throws IOException {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?s)## The API contract.*?```sh\n(curl [^\n]*)\n```")
        .matcher(Files.readString(Path.of("../docs/operations.md")));
    assertThat(m.find()).as("docs/operations.md has the curl line under The API contract").isTrue();
    String line = m.group(1).replace("/run/qmp-sidecar/api.sock", config.apiSocket().toString());
    Process curl = new ProcessBuilder("sh", "-c", line).directory(harness.dir().toFile()).redirectErrorStream(true).start();
    try {
      assertThat(curl.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)).as("%s ends", line).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
    assertThat(curl.exitValue()).as("%s: %s", line, new String(curl.getInputStream().readAllBytes())).isZero();
    return Files.readString(harness.dir().resolve("qmp-sidecar.json"));
  }

  /** The policy rule docs/live-update.md gives for the API's Unix socket, as the docs show it. */
  private static String liveUpdateRule() throws IOException {
    return Files.readString(Path.of("../docs/live-update.md"))
        .replaceAll("(?s).*```yaml\n(  - id: live-update-local.*?)```.*", "$1");
  }

  private RequestOptions unix(HttpMethod method, String uri) {
    return new RequestOptions().setServer(SocketAddress.domainSocketAddress(config.apiSocket().toString()))
        .setHost("localhost").setMethod(method).setURI(uri);
  }

  private RequestOptions tcp(HttpMethod method, String uri) {
    return new RequestOptions().setHost("127.0.0.1").setPort(sidecar.api().tcpPort()).setMethod(method).setURI(uri);
  }

  /** On the Unix socket: a request the document describes, answered {@code status}. */
  private Answer ok(HttpMethod method, String uri, String body, int... statuses) {
    return exchange(unix(method, uri), body, true, statuses);
  }

  /** On the Unix socket: a request the document does not describe, so the server must refuse it with 400. */
  private Answer refused(HttpMethod method, String uri, String body) {
    return exchange(unix(method, uri), body, false, 400);
  }

  /**
   * Sends, then checks the request against the document ({@code described}: whether it should
   * fit), the status (one of {@code statuses}), and the answer against the document.
   */
  private Answer exchange(RequestOptions options, String body, boolean described, int... statuses) {
    if (body != null) {
      options.putHeader("content-type", "application/json");
    }
    String method = options.getMethod().name();
    String uri = options.getURI();
    String path = uri.split("\\?")[0];
    OpenApiContract.Operation op = contract.operation(method, path);
    Map<String, String> headers = new LinkedHashMap<>();
    if (options.getHeaders() != null) {
      options.getHeaders().forEach(h -> headers.put(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue()));
    }
    if (op != null) {
      List<String> violations = contract.requestViolations(op, uri, headers, body);
      if (described) {
        assertThat(violations).as("the request %s %s %s fits the document", method, uri, body).isEmpty();
      } else {
        assertThat(violations).as("the document does not describe %s %s %s", method, uri, body).isNotEmpty();
      }
    }
    Answer answer = Await.result(onContext(() -> http.request(options)
        .compose(r -> body == null ? r.send() : r.send(Buffer.buffer(body)))
        .compose(r -> r.body().map(b -> new Answer(r.statusCode(), r.getHeader("content-type"), b.toString(), r.headers())))));
    String seen = method + " " + uri + " " + (body == null ? "" : body) + " -> " + answer;
    assertThat(answer.status()).as(seen).isIn(java.util.Arrays.stream(statuses).boxed().toList());
    assertThat(contract.responseViolations(op, answer.status(), answer.contentType(), answer.body())).as(seen).isEmpty();
    if (op != null) {
      assertThat(contract.headerViolations(op, answer.status(), answer.headers()::get)).as(seen).isEmpty();
    }
    return answer;
  }

  private <T> Future<T> onContext(Supplier<Future<T>> chain) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> chain.get().onComplete(promise));
    return promise.future();
  }

  @QemuTest
  void everyOperationAnswersAsTheDocumentSays(QemuBinary binary) throws Exception {
    start(binary);
    vmsAndPassthrough();
    devices();
    policyAndService();
    eventStreams();
    migration();
    tcpAndOutsideTheDocument();
    liveUpdate(binary);

    Set<String> answered = contract.answered();
    for (OpenApiContract.Operation op : contract.operations()) {
      if (op.id().equals("liveUpdate") && binary.major() < 10) {
        assertThat(answered).as("QEMU %s has no cpr-transfer: refused", binary.version()).contains("liveUpdate 409");
        continue;
      }
      assertThat(answered).as("%s answered a success", op.id()).anyMatch(a -> a.matches(op.id() + " 2\\d\\d"));
      if (!op.id().equals("getHealth")) {
        assertThat(answered).as("%s answered an error", op.id()).anyMatch(a -> a.matches(op.id() + " [45]\\d\\d"));
      }
    }
  }

  private void vmsAndPassthrough() {
    assertThat(ok(HttpMethod.GET, "/v1/vms", null, 200).json()).hasSize(2);
    assertThat(ok(HttpMethod.GET, "/v1/vms/vm1", null, 200).json().path("running").asBoolean()).isTrue();
    assertThat(ok(HttpMethod.GET, "/v1/vms/nope", null, 404).json().path("kind").asText()).isEqualTo("not-found");
    ok(HttpMethod.POST, "/v1/vms/vm1/qmp?validate=true", "{\"execute\":\"query-status\"}", 200);
    assertThat(ok(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"human-monitor-command\","
        + "\"arguments\":{\"command-line\":\"info status\"}}", 403).json().path("rule").asText()).isNotEmpty();
    assertThat(ok(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"ghost\"}}", 422)
        .json().at("/qemu/class").asText()).isEqualTo("DeviceNotFound");
    ok(HttpMethod.POST, "/v1/vms/nope/qmp", "{\"execute\":\"query-status\"}", 404);
    refused(HttpMethod.POST, "/v1/vms/vm1/qmp", "{oops");
    refused(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":1}");
    refused(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\",\"extra\":1}");
    refused(HttpMethod.POST, "/v1/vms/vm1/qmp?validate=maybe", "{\"execute\":\"query-status\"}");
  }

  private void devices() {
    ok(HttpMethod.GET, "/v1/vms/vm1/devices", null, 200);
    ok(HttpMethod.GET, "/v1/vms/nope/devices", null, 404);
    String nic = "{\"driver\":\"e1000e\",\"id\":\"nic1\",\"opId\":\"op-1\"}";
    assertThat(ok(HttpMethod.POST, "/v1/vms/vm1/devices", nic, 201).json().path("state").asText()).isEqualTo("ATTACHED");
    ok(HttpMethod.POST, "/v1/vms/vm1/devices", nic, 201);
    assertThat(ok(HttpMethod.GET, "/v1/vms/vm1/devices", null, 200).json()).hasSize(1);
    assertThat(ok(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"bdf\":\"0000:7f:00.1\"}", 412).json().path("bdf").asText())
        .isEqualTo("0000:7f:00.1");
    ok(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"no-such-device\",\"id\":\"x1\"}", 422);
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic2\",\"options\":{\"rombar\":\"abc\"}}");
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"bdf\":\"not-a-bdf\"}");
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"vf\":1}");
    String mdev = "88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10";
    assertThat(ok(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"mdev\":\"" + mdev + "\"}", 412).json().path("mdev").asText())
        .isEqualTo(mdev);
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"mdev\":\"not-a-uuid\"}");
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"mdev\":\"" + mdev + "\",\"bdf\":\"0000:03:00.2\"}");
    refused(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"mdev\":\"" + mdev + "\",\"hostDriver\":\"vfio-pci\"}");

    assertThat(ok(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1", null, 202).json().path("outcome").asText())
        .isEqualTo("PENDING");
    ok(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}", 200);
    Await.until("the pending removal completes",
        () -> ok(HttpMethod.GET, "/v1/vms/vm1/devices", null, 200).json().isEmpty());
    refused(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1?restoreHostDriver=maybe", null);
    ok(HttpMethod.DELETE, "/v1/vms/nope/devices/nic1", null, 404);
  }

  private void policyAndService() throws IOException {
    assertThat(ok(HttpMethod.POST, "/v1/policy/explain", "{\"caller\":\"dpu\",\"command\":{\"execute\":\"quit\"}}", 200)
        .json().path("effect").asText()).isEqualTo("deny");
    refused(HttpMethod.POST, "/v1/policy/explain", "{\"caller\":\"dpu\"}");
    exchange(unix(HttpMethod.POST, "/v1/policy/explain"), "{\"caller\":\"" + "x".repeat((int) ApiServer.MAX_BODY_BYTES)
        + "\",\"command\":{}}", true, 413);

    Answer served = ok(HttpMethod.GET, "/v1/openapi.json", null, 200);
    try (InputStream in = ApiContractIT.class.getResourceAsStream("/openapi.json")) {
      assertThat(served.body()).as("the document served is the one checked here")
          .isEqualTo(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    assertThat(docsCurl()).as("the curl line of docs/operations.md fetches the same document").isEqualTo(served.body());
    ok(HttpMethod.GET, "/healthz", null, 200);
    assertThat(ok(HttpMethod.GET, "/readyz", null, 200).json().path("ready").asBoolean()).isTrue();
    assertThat(ok(HttpMethod.GET, "/metrics", null, 200).body()).contains("# TYPE");
  }

  /** Both formats of the stream, each item checked against the document; SSE parsed as a browser parses it. */
  private void eventStreams() throws Exception {
    OpenApiContract.Operation op = contract.operation("GET", "/v1/events");
    String uri = "/v1/events?vm=vm1&type=qmp.STOP,qmp.RESUME";
    RequestOptions sse = unix(HttpMethod.GET, uri).putHeader("last-event-id", "1");
    assertThat(contract.requestViolations(op, uri, Map.of("last-event-id", "1"), null)).isEmpty();
    Buffer sseText = Buffer.buffer();
    HttpClientResponse sseResponse = harness.api(config).stream(sse, sseText::appendBuffer);
    assertThat(contract.responseViolations(op, sseResponse.statusCode(), sseResponse.getHeader("content-type"), null))
        .isEmpty();
    long before = sidecar.events().lastId();
    ok(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"stop\"}", 200);
    ok(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"cont\"}", 200);
    Await.until("STOP and RESUME arrive as SSE", () -> sseText.toString().contains("qmp.RESUME"));

    List<SseEvent> events = SseEvent.parse(sseText.toString());
    assertThat(events).as("every dispatched event is a 'message': no event: field").allMatch(e -> e.type().equals("message"));
    List<String> types = new ArrayList<>();
    for (SseEvent e : events) {
      assertThat(contract.jsonErrors(contract.itemSchema(op, 200, "text/event-stream"), e.data(), "SSE item")).isEmpty();
      JsonNode item = JSON.readTree(e.data());
      types.add(item.path("type").asText());
      if (item.has("id")) {
        assertThat(e.lastEventId()).as("an event's id is on its id: line").isEqualTo(item.path("id").asText());
      } else {
        assertThat(e.idLine()).as("a notice has no id: line, so the resume point stays").isFalse();
      }
    }
    assertThat(types).as("an unknown Last-Event-ID gets a gap notice first").startsWith("gap").contains("qmp.STOP", "qmp.RESUME");

    String ndjsonUri = "/v1/events?format=ndjson&type=qmp.*&since=" + before;
    Buffer ndjson = Buffer.buffer();
    HttpClientResponse ndjsonResponse = harness.api(config).stream(unix(HttpMethod.GET, ndjsonUri), ndjson::appendBuffer);
    assertThat(contract.requestViolations(op, ndjsonUri, Map.of(), null)).isEmpty();
    assertThat(contract.responseViolations(op, ndjsonResponse.statusCode(), ndjsonResponse.getHeader("content-type"), null))
        .isEmpty();
    Await.until("the replay arrives as NDJSON", () -> ndjson.toString().contains("qmp.RESUME"));
    for (String line : ndjson.toString().split("\n")) {
      assertThat(contract.jsonErrors(contract.itemSchema(op, 200, "application/x-ndjson"), line, "NDJSON item")).isEmpty();
    }
    refused(HttpMethod.GET, "/v1/events?bogus=1", null);
    exchange(unix(HttpMethod.GET, "/v1/events").putHeader("last-event-id", "abc"), null, false, 400);
  }

  private void migration() throws Exception {
    ok(HttpMethod.GET, "/v1/vms/vm1/migration", null, 404);
    ok(HttpMethod.DELETE, "/v1/vms/vm1/migration", null, 404);
    ok(HttpMethod.POST, "/v1/vms/vm1/migrations", "{\"destination\":\"vm2\",\"uri\":\"exec:cat\"}", 403);
    refused(HttpMethod.POST, "/v1/vms/vm1/migrations", "{\"uri\":\"tcp:127.0.0.1:4444\"}");
    refused(HttpMethod.POST, "/v1/vms/vm1/migrations", "{\"destination\":\"vm2\",\"uri\":\"tcp:127.0.0.1:4444\","
        + "\"strategy\":\"teleport\"}");
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    // A bandwidth of 1000 bytes/s keeps it migrating until it is cancelled.
    JsonNode run = ok(HttpMethod.POST, "/v1/vms/vm1/migrations", "{\"destination\":\"vm2\",\"uri\":\"tcp:127.0.0.1:" + port
        + "\",\"parameters\":{\"maxBandwidth\":1000}}", 202).json();
    assertThat(run.path("destination").asText()).isEqualTo("vm2");
    // QEMU's own status, not only the run's: a cancel sent before QEMU took migrate is lost
    // (CoordinatedMigration sets migrateSent before migrate reaches QEMU).
    Await.until("QEMU migrates", () -> ok(HttpMethod.GET, "/v1/vms/vm1/migration", null, 200).json()
        .at("/source/qemuStatus").asText().equals("active"));
    ok(HttpMethod.DELETE, "/v1/vms/vm1/migration", null, 202);
    String[] last = {""};
    try {
      Await.until("the cancelled run is rolled back", () -> {
        JsonNode state = ok(HttpMethod.GET, "/v1/vms/vm1/migration", null, 200).json();
        last[0] = state.toString();
        return state.path("state").asText().equals("ROLLED_BACK");
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; the run was " + last[0], e);
    }
    ok(HttpMethod.DELETE, "/v1/vms/vm1/migration", null, 409);

    destination.kill();
    Await.until("the destination's QEMU is gone", () -> ok(HttpMethod.GET, "/readyz", null, 200, 503).status() == 503);
  }

  private void tcpAndOutsideTheDocument() {
    for (String uri : List.of("/v1/vms", "/v1/vms/vm1", "/v1/openapi.json", "/metrics", "/readyz")) {
      exchange(tcp(HttpMethod.GET, uri), null, true, 401);
    }
    exchange(tcp(HttpMethod.GET, "/healthz"), null, true, 200);
    exchange(tcp(HttpMethod.GET, "/v1/vms").putHeader("authorization", "Bearer " + TOKEN), null, true, 200);

    exchange(unix(HttpMethod.GET, "/v1/nothing-here"), null, false, 404);
    exchange(unix(HttpMethod.PUT, "/v1/vms/vm1"), null, false, 405);
    refused(HttpMethod.GET, "/v1/vms?x=1", null);
    refused(HttpMethod.GET, "/readyz?x=1", null);
    refused(HttpMethod.POST, "/v1/vms/vm1/qmp?bogus=1", "{\"execute\":\"query-status\"}");
    refused(HttpMethod.DELETE, "/v1/vms/vm1/devices/nothere?bogus=1", null);
    refused(HttpMethod.GET, "/v1/events?format=xml", null);
    assertThat(ok(HttpMethod.GET, "/metrics?scrape=1&format=text", null, 200).body())
        .as("/metrics ignores a scraper's query parameters").contains("# TYPE");
    assertThat(contract.operation("GET", "/v1/nothing-here")).isNull();
  }

  /** Last: the VM then runs on a new QEMU process, killed after the test. */
  private void liveUpdate(QemuBinary binary) {
    refused(HttpMethod.POST, "/v1/vms/vm1/live-update", "{\"qemu\":\"qemu-system-x86_64\"}");
    exchange(tcp(HttpMethod.POST, "/v1/vms/vm1/live-update").putHeader("authorization", "Bearer " + TOKEN), null, true,
        403);
    if (binary.major() < 10) {
      ok(HttpMethod.POST, "/v1/vms/vm1/live-update", null, 409);
      return;
    }
    JsonNode updated = ok(HttpMethod.POST, "/v1/vms/vm1/live-update", "{\"qemu\":\"" + binary.path() + "\"}", 200).json();
    long pid = updated.path("newPid").asLong();
    harness.track(() -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    assertThat(updated.path("newVersion").asText()).isEqualTo(binary.version());
  }

  /** One event as an SSE client dispatches it (WHATWG HTML, "interpreting an event stream"). */
  private record SseEvent(String type, String data, String lastEventId, boolean idLine) {
    static List<SseEvent> parse(String stream) {
      List<SseEvent> out = new ArrayList<>();
      StringBuilder data = new StringBuilder();
      String type = "";
      String lastId = "";
      boolean idLine = false;
      for (String line : stream.split("\r\n|\r|\n", -1)) {
        if (line.isEmpty()) {
          if (data.length() > 0) {
            out.add(new SseEvent(type.isEmpty() ? "message" : type, data.substring(0, data.length() - 1), lastId, idLine));
          }
          data.setLength(0);
          type = "";
          idLine = false;
          continue;
        }
        if (line.startsWith(":")) {
          continue;
        }
        int colon = line.indexOf(':');
        String field = colon < 0 ? line : line.substring(0, colon);
        String value = colon < 0 ? "" : line.substring(colon + 1).replaceFirst("^ ", "");
        switch (field) {
          case "event" -> type = value;
          case "data" -> data.append(value).append('\n');
          case "id" -> {
            lastId = value;
            idLine = true;
          }
          default -> { }
        }
      }
      return out;
    }
  }
}
