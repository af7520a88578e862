package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.RegisterExtension;

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
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();
  private ApiTestClient client;

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
    DpuEndpoint dpu = result(DpuEndpoint.listen(harness.vertx(), DpuEndpointOptions.defaults().withPort(0)));
    harness.track(() -> result(dpu.close()));
    dpu.notificationHandler(received::add);
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), POLICY);
    TestConfig config = harness.config().vm("src", harness.qemu(binary, "src", 2))
        .vm("dst", harness.qemu(binary, "dst", 2, "-incoming", "defer")).policyFile(policy)
        .relay("ws://127.0.0.1:" + dpu.actualPort(), "host-1").detachWait(Duration.ofMillis(200));
    Sidecar sidecar = harness.start(config);
    client = harness.api(config);
    harness.standInGuest(sidecar, config);

    Await.until("the DPU link is up and both VMs are connected",
        () -> dpu.connectedHosts().contains("host-1")
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
    assertThat(got("migration.function", Map.of("vm", "src", "device", "dpu-nic1", "strategy", "unplug-replug",
        "reason", "requested", "step", "detached"))).as("the DPU hears the strategy and why").isTrue();

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
        .body().asText().contains("qmp_sidecar_relay_outbox_unacked 0.0"));
    assertThat(metrics).contains("qmp_sidecar_relay_link_up 1.0", "qmp_sidecar_hotplug_pending_unplugs 0.0",
        "qmp_sidecar_proxy_clients{vm=\"src\"}",
        "qmp_sidecar_qmp_commands_in_flight{vm=\"dst\"}", "qmp_sidecar_migration_remaining_bytes{vm=\"src\"} 0.0",
        "qmp_sidecar_qmp_events_total{event=\"DEVICE_DELETED\",vm=\"dst\"}");

    api(HttpMethod.POST, "/v1/vms/dst/devices", "{\"driver\":\"e1000e\",\"id\":\"local-nic\"}", 201);
    Throwable denied = Await.failure(dpu.request("host-1", "device.detach",
        Map.of("opId", "op-detach-2", "vm", "dst", "deviceId", "local-nic")));
    assertThat(denied).hasMessageContaining("POLICY_DENIED").hasMessageContaining("not listed in the flow-test policy");
    Throwable missing = Await.failure(dpu.request("host-1", "device.detach",
        Map.of("opId", "op-detach-3", "vm", "dst", "deviceId", "dpu-nic9")));
    assertThat(missing).hasMessageContaining("NOT_FOUND").hasMessageContaining("dst has no device dpu-nic9");
  }
}
