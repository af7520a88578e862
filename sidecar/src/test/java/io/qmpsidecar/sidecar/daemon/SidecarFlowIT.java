package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole daemon with its DPU link: a real DPU endpoint (relay-bridge's other end), two real
 * QEMUs, the API. Nothing acks unplugs in qtest mode, so a stand-in guest answers each pending
 * removal with system_reset, as a guest's ACPI/PCIe handling would.
 */
class SidecarFlowIT {
  private static final String POLICY = """
      version: 1
      name: flow-test
      match: first
      rules:
        - id: local-scripts
          effect: allow
          callers: ["api:local"]
          commands: ["*"]
          reason: the test's local scripts may do anything
        - id: dpu-read-only
          effect: allow
          callers: [dpu]
          commands: ["query-*"]
          reason: the DPU may read
        - id: dpu-detach
          effect: allow
          callers: [dpu]
          commands: [device_del]
          when:
            arguments.id: {prefix: dpu-}
          reason: the DPU may detach what it named
      default:
        effect: deny
        reason: not listed in the flow-test policy
      """;
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new CopyOnWriteArrayList<>();
  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();
  private ApiTestClient client;

  @BeforeAll
  static void client() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void closeClient() {
    result(vertx.close());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
  }

  private JsonNode api(HttpMethod method, String uri, String body, int expectedStatus) {
    ApiTestClient.Reply reply = client.call(method, uri, body);
    assertThat(reply.status()).as("%s %s: %s", method, uri, reply.body()).isEqualTo(expectedStatus);
    return reply.body();
  }

  private boolean got(String method, Map<String, Object> subset) {
    return received.stream().anyMatch(n -> n.method().equals(method)
        && subset.entrySet().stream().allMatch(e -> String.valueOf(e.getValue()).equals(String.valueOf(n.params().get(e.getKey())))));
  }

  @QemuTest
  void attachMigrateAndDetachWithTheDpuWatching(QemuBinary binary) throws Exception {
    DpuEndpoint dpu = result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withPort(0)));
    cleanup.add(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    QemuProcess src = QemuProcess.startQtest(binary, dir, "src", 2);
    cleanup.add(src);
    QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 2, "-incoming", "defer");
    cleanup.add(dst);
    Path policy = Files.writeString(dir.resolve("policy.yaml"), POLICY);
    Sidecar sidecar = new Sidecar(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy"), "policy.file=" + policy,
        "relay.url=ws://127.0.0.1:" + dpu.actualPort(), "relay.hostId=host-1", "timeouts.detach=200ms"),
        List.of("src=" + src.qmpAddress(), "dst=" + dst.qmpAddress())));
    sidecar.start(Duration.ofSeconds(20));
    cleanup.add(sidecar::stop);
    client = new ApiTestClient(vertx, dir.resolve("api.sock"));
    // The stand-in guest: every pending removal is acknowledged by a reset of that VM.
    // Listeners run on the sidecar's event loop: the reset is sent without waiting for it.
    EventSubscription guest = sidecar.events().subscribe(e -> e.type().equals(EventTypes.DETACH_PENDING), 64,
        e -> client.send(client.options(HttpMethod.POST, "/v1/vms/" + e.vm() + "/qmp"), "{\"execute\":\"system_reset\"}"));
    cleanup.add(guest::cancel);

    Await.until("the DPU link is up and both VMs are connected",
        () -> dpu.connectedHosts().contains("host-1") && sidecar.vertx() != null
            && api(HttpMethod.GET, "/v1/vms", null, 200).findValuesAsText("state").equals(List.of("ready", "ready")));
    Map<String, Object> vms = result(dpu.request("host-1", "vm.list", Map.of()));
    assertThat(vms.toString()).contains("src", "dst");

    api(HttpMethod.POST, "/v1/vms/src/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-nic1\"}", 201);
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    api(HttpMethod.POST, "/v1/vms/src/migrations", "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:" + port
        + "\",\"strategy\":\"unplug-replug\"}", 202);
    Await.until("the migration completes", () -> {
      String state = api(HttpMethod.GET, "/v1/vms/src/migration", null, 200).path("state").asText();
      assertThat(state).isNotIn("ROLLED_BACK", "ROLLBACK_FAILED", "REFUSED");
      return state.equals("COMPLETED");
    });
    JsonNode onDst = api(HttpMethod.POST, "/v1/vms/dst/qmp",
        "{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral\"}}", 200);
    assertThat(onDst.path("return").findValuesAsText("name")).contains("dpu-nic1");
    Await.until("the DPU heard the story", () -> got("device.deleted", Map.of("vm", "src", "device", "dpu-nic1"))
        && got("migration.coordination", Map.of("vm", "src", "state", "completed")));
    assertThat(received.stream().map(ReceivedNotification::method)).contains("migration.function", "migration.status");

    Map<String, Object> accepted = result(dpu.request("host-1", "device.detach",
        Map.of("opId", "op-detach-1", "vm", "dst", "deviceId", "dpu-nic1")));
    assertThat(accepted).containsEntry("opId", "op-detach-1");
    Await.until("the DPU learns the function is gone", () -> got("op.completed", Map.of("opId", "op-detach-1"))
        && got("device.deleted", Map.of("vm", "dst", "device", "dpu-nic1")));
    assertThat(got("op.progress", Map.of("opId", "op-detach-1", "stage", "pending"))).isTrue();
    long completedAt = received.stream().filter(n -> n.method().equals("op.completed")
        && "op-detach-1".equals(n.params().get("opId"))).findFirst().orElseThrow().seq();
    long deletedAt = received.stream().filter(n -> n.method().equals("device.deleted") && "dst".equals(n.params().get("vm")))
        .findFirst().orElseThrow().seq();
    assertThat(completedAt).as("op.completed only after device.deleted").isGreaterThan(deletedAt);

    String metrics = client.call(HttpMethod.GET, "/metrics", null).body().asText();
    Await.until("the DPU acknowledged every notification", () -> client.call(HttpMethod.GET, "/metrics", null)
        .body().asText().contains("relay_outbox_unacked 0.0"));
    assertThat(metrics).contains("relay_link_up 1.0", "hotplug_pending_unplugs 0.0", "proxy_clients{vm=\"src\"}",
        "qmp_commands_in_flight{vm=\"dst\"}", "migration_remaining_bytes{vm=\"src\"} 0.0",
        "qmp_events_total{event=\"DEVICE_DELETED\",vm=\"dst\"}");

    Throwable denied = Await.failure(dpu.request("host-1", "device.detach",
        Map.of("opId", "op-detach-2", "vm", "dst", "deviceId", "not-mine")));
    assertThat(denied).hasMessageContaining("POLICY_DENIED").hasMessageContaining("not listed in the flow-test policy");
  }
}
