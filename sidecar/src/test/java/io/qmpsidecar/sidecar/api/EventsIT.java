package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /v1/events of a real sidecar in front of a real QEMU. */
class EventsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private Sidecar sidecar;
  private ApiTestClient api;

  private void start(QemuBinary binary) throws Exception {
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1));
    sidecar = harness.startReady(config);
    api = harness.api(config);
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
        harness.dir().resolve("api.sock").toString(), "http://localhost/v1/events?format=ndjson&type=qmp.RESET"
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
