package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Event ids stay unique and increasing when the daemon restarts on the same state directory, and
 * a consumer that resumes with an id of the earlier run learns that it restarted, from which id,
 * and what to re-read, then gets every event of the new run: over SSE, NDJSON and the CLI.
 */
class EventIdsAcrossRestartsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void aResumeIdFromTheEarlierRunGetsARestartGapThenEveryEventOfTheNewRun(QemuBinary binary) throws Exception {
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1));
    Sidecar first = harness.startReady(config);
    ApiTestClient api = harness.api(config);
    qmp(api, "stop");
    qmp(api, "cont");
    Await.until("RESUME is published", () -> first.events().since(0).events().stream()
        .anyMatch(e -> e.type().equals("qmp.RESUME")));
    long lastOfFirst = first.events().lastId();
    first.stop();

    Sidecar second = harness.startReady(config);
    qmp(api, "stop");
    // The new run's events settle once its first reconcile is done and the stop is published (a
    // reset would not do: QEMU may follow it with resets of its own, reason guest-reset).
    Await.until("STOP and the reconcile are published", () -> second.events().since(0).events().stream()
        .filter(e -> e.type().equals("qmp.STOP") || e.type().equals("reconcile.done")).count() == 2);
    List<SidecarEvent> run2 = second.events().since(0).events();
    assertThat(second.events().firstId()).isGreaterThan(lastOfFirst);
    assertThat(run2.get(0).id()).isEqualTo(second.events().firstId());

    List<JsonNode> lines = ndjson(api, "/v1/events?format=ndjson&since=" + lastOfFirst, run2.size() + 1);
    JsonNode gap = lines.get(0);
    assertThat(gap.path("type").asText()).isEqualTo("gap");
    assertThat(gap.path("reason").asText()).isEqualTo("restarted");
    assertThat(gap.path("lastEventId").asLong()).isEqualTo(lastOfFirst);
    assertThat(gap.path("firstId").asLong()).isEqualTo(second.events().firstId());
    assertThat(gap.path("started").asText()).isEqualTo(second.events().started().toString());
    assertThat(gap.path("reread")).extracting(JsonNode::asText)
        .containsExactly("/v1/vms", "/v1/vms/{vm}/devices", "/v1/vms/{vm}/migration");
    assertThat(gap.path("detail").asText()).isEqualTo("the sidecar restarted at " + second.events().started()
        + ": event " + lastOfFirst + " is from an earlier run, whose later events are lost; re-read the state"
        + " (GET /v1/vms, then GET /v1/vms/VM/devices and GET /v1/vms/VM/migration of each VM), then go on with"
        + " this run's events, from id " + second.events().firstId());
    assertThat(lines.subList(1, lines.size())).extracting(l -> l.path("id").asLong())
        .containsExactlyElementsOf(run2.stream().map(SidecarEvent::id).toList());

    // SSE: the gap is a message without an id, so an EventSource keeps its resume point until the
    // first event of the new run.
    Buffer sse = Buffer.buffer();
    RequestOptions o = api.options(HttpMethod.GET, "/v1/events").putHeader("last-event-id", Long.toString(lastOfFirst));
    api.stream(o, sse::appendBuffer);
    Await.until("the replay arrives", () -> sse.toString().contains("\"id\":" + run2.get(run2.size() - 1).id()));
    String text = sse.toString();
    assertThat(text).startsWith(": qmp-sidecar events\nretry: 1000\n\ndata: {\"type\":\"gap\",\"reason\":\"restarted\"");
    assertThat(text.indexOf("id: " + second.events().firstId() + "\n")).isGreaterThan(text.indexOf("\"type\":\"gap\""));

    CliRunner.Run cli = CliRunner.run("events", "--since", Long.toString(lastOfFirst), "--api=unix:" + config.apiSocket());
    assertThat(cli.exit()).isZero();
    assertThat(cli.err().lines()).containsExactly("gap: " + gap.path("detail").asText());
    assertThat(cli.out().lines().map(l -> read(l).path("id").asLong()).toList())
        .containsExactlyElementsOf(run2.stream().map(SidecarEvent::id).toList());
  }

  @QemuTest
  void anIdNoRunHandedOutGetsAnUnknownGap(QemuBinary binary) throws Exception {
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1));
    Sidecar sidecar = harness.startReady(config);
    long future = sidecar.events().lastId() + 1_000;
    JsonNode gap = ndjson(harness.api(config), "/v1/events?format=ndjson&since=" + future, 1).get(0);
    assertThat(gap.path("reason").asText()).isEqualTo("unknown");
    assertThat(gap.path("detail").asText()).startsWith("event " + future + " was not sent by this sidecar");
  }

  private static List<JsonNode> ndjson(ApiTestClient api, String uri, int count) {
    Buffer body = Buffer.buffer();
    api.stream(api.options(HttpMethod.GET, uri), body::appendBuffer);
    Await.until(count + " lines arrive", () -> body.toString().lines().count() >= count);
    List<JsonNode> out = new ArrayList<>();
    body.toString().lines().limit(count).forEach(l -> out.add(read(l)));
    return out;
  }

  private static JsonNode read(String line) {
    try {
      return JSON.readTree(line);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + line, e);
    }
  }

  private static void qmp(ApiTestClient api, String command) {
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"" + command + "\"}").status()).isEqualTo(200);
  }
}
