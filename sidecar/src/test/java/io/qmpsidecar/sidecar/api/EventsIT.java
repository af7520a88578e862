package io.qmpsidecar.sidecar.api;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** GET /v1/events of a real sidecar in front of a real QEMU. */
class EventsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Vertx vertx;

  @TempDir Path dir;
  private QemuProcess qemu;
  private Sidecar sidecar;
  private ApiTestClient api;

  @BeforeAll
  static void client() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeClient() {
    result(vertx.close());
  }

  @AfterEach
  void stop() {
    if (sidecar != null) {
      sidecar.stop();
    }
    if (qemu != null) {
      qemu.close();
    }
  }

  private void start(QemuBinary binary) throws Exception {
    qemu = QemuProcess.startQtest(binary, dir, "vm1", 1);
    sidecar = new Sidecar(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy")),
        List.of("vm1=" + qemu.qmpAddress())));
    sidecar.start(Duration.ofSeconds(20));
    api = new ApiTestClient(vertx, dir.resolve("api.sock"));
    Await.until("vm1 is connected", () -> readyz() == 200);
  }

  private int readyz() {
    return api.call(HttpMethod.GET, "/readyz", null).status();
  }

  private void qmp(String command) {
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"" + command + "\"}").status()).isEqualTo(200);
  }

  /** An SSE stream read into a buffer as it arrives. */
  private Buffer openStream(String uri, String lastEventId) {
    Buffer received = Buffer.buffer();
    RequestOptions o = api.options(HttpMethod.GET, uri);
    if (lastEventId != null) {
      o.putHeader("last-event-id", lastEventId);
    }
    assertThat(api.stream(o, received::appendBuffer).statusCode()).isEqualTo(200);
    return received;
  }

  @QemuTest
  void qmpEventsStreamAsSseAndResumeFromLastEventId(QemuBinary binary) throws Exception {
    start(binary);
    Buffer stream = openStream("/v1/events?vm=vm1&type=qmp.STOP,qmp.RESUME", null);
    Await.until("the stream is open", () -> stream.toString().startsWith(": qmp-sidecar events"));
    qmp("stop");
    qmp("cont");
    Await.until("STOP and RESUME arrive", () -> stream.toString().contains("event: qmp.RESUME"));
    String text = stream.toString();
    assertThat(text).containsSubsequence("event: qmp.STOP", "event: qmp.RESUME");
    String stopId = text.substring(text.indexOf("id: ") + 4, text.indexOf('\n', text.indexOf("id: ")));

    Buffer resumed = openStream("/v1/events?type=qmp.*", stopId);
    Await.until("the replay arrives", () -> resumed.toString().contains("event: qmp.RESUME"));
    assertThat(resumed.toString()).doesNotContain("event: qmp.STOP");
  }

  @QemuTest
  void curlReadsNdjsonAndDataFiltersApply(QemuBinary binary) throws Exception {
    start(binary);
    long before = sidecar.events().lastId();
    qmp("system_reset");
    // since= replays from the event log, so curl may connect after the event.
    Process curl = new ProcessBuilder("curl", "-sN", "--max-time", "20", "--unix-socket",
        dir.resolve("api.sock").toString(), "http://localhost/v1/events?format=ndjson&type=qmp.RESET"
            + "&data.reason=host-qmp-system-reset&since=" + before)
        .redirectErrorStream(true).start();
    byte[] line = readLine(curl);
    curl.destroy();
    assertThat(curl.waitFor(10, TimeUnit.SECONDS)).isTrue();
    JsonNode event = JSON.readTree(line);
    assertThat(event.path("type").asText()).isEqualTo("qmp.RESET");
    assertThat(event.path("vm").asText()).isEqualTo("vm1");
    assertThat(event.path("data").path("reason").asText()).isEqualTo("host-qmp-system-reset");
  }

  private static byte[] readLine(Process p) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    var in = p.getInputStream();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      if (in.available() > 0) {
        int b = in.read();
        if (b == '\n') {
          return out.toByteArray();
        }
        out.write(b);
      } else {
        Thread.sleep(5);
      }
    }
    throw new AssertionError("curl printed no complete line: " + out.toString(StandardCharsets.UTF_8));
  }

  @QemuTest
  void aConsumerThatDoesNotReadIsCutOffWithTheReason(QemuBinary binary) throws Exception {
    start(binary);
    Buffer received = Buffer.buffer();
    HttpClientResponse resp = api.stream(api.options(HttpMethod.GET, "/v1/events?type=test.*"), received::appendBuffer);
    resp.pause();
    String pad = "x".repeat(400);
    for (int i = 0; i < 20_000; i++) {
      sidecar.events().publish("vm1", "test.flood", null, JSON.createObjectNode().put("i", i).put("pad", pad));
    }
    resp.resume();
    Await.until("the stream ends", () -> received.toString().contains("event: error"));
    String text = received.toString();
    assertThat(text.substring(text.indexOf("event: error"))).contains("reconnect with Last-Event-ID");
    assertThat(text.split("event: test.flood").length - 1).isLessThan(20_000);
    assertThat(readyz()).isEqualTo(200);
  }
}
