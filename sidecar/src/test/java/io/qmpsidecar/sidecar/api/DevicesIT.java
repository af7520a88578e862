package io.qmpsidecar.sidecar.api;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.config.ConfigLoader;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** /v1/vms/{vm}/devices and the per-VM QMP proxy of a real sidecar in front of a real QEMU. */
class DevicesIT {
  private static Vertx vertx;

  @TempDir Path dir;
  private QemuProcess qemu;
  private Sidecar sidecar;

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

  private Reply call(HttpMethod method, String uri, String body) {
    return new ApiTestClient(vertx, dir.resolve("api.sock")).call(method, uri, body);
  }

  @QemuTest
  void attachListDetachThroughTheApiAndTheProxySocketIsOpen(QemuBinary binary) throws Exception {
    qemu = QemuProcess.startQtest(binary, dir, "vm1", 2);
    sidecar = new Sidecar(ConfigLoader.load(null, Map.of(), List.of("api.socket=" + dir.resolve("api.sock"),
        "stateDir=" + dir.resolve("state"), "proxy.dir=" + dir.resolve("proxy"), "timeouts.detach=300ms",
        "policy.file=" + io.qmpsidecar.sidecar.FlowTestPolicy.write(dir)), List.of("vm1=" + qemu.qmpAddress())));
    sidecar.start(Duration.ofSeconds(20));
    Await.until("vm1 is connected", () -> call(HttpMethod.GET, "/readyz", null).status() == 200);

    Reply attached = call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\",\"opId\":\"op-1\"}");
    assertThat(attached.status()).as("%s", attached.body()).isEqualTo(201);
    assertThat(attached.body().path("rootPort").asText()).isIn("rp1", "rp2");
    assertThat(attached.body().path("state").asText()).isEqualTo("ATTACHED");

    Reply again = call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"nic1\",\"opId\":\"op-1\"}");
    assertThat(again.body().path("rootPort").asText()).isEqualTo(attached.body().path("rootPort").asText());
    assertThat(call(HttpMethod.GET, "/v1/vms/vm1/devices", null).body()).hasSize(1);

    Reply detach = call(HttpMethod.DELETE, "/v1/vms/vm1/devices/nic1", null);
    assertThat(detach.status()).as("no guest acks in qtest mode: pending").isEqualTo(202);
    assertThat(detach.body().path("outcome").asText()).isEqualTo("PENDING");
    assertThat(call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"system_reset\"}").status()).isEqualTo(200);
    Await.until("the pending removal completes", () -> call(HttpMethod.GET, "/v1/vms/vm1/devices", null).body().isEmpty());

    Reply vfio = call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"bdf\":\"0000:7f:00.1\"}");
    assertThat(vfio.status()).isEqualTo(412);
    assertThat(vfio.body().path("bdf").asText()).isEqualTo("0000:7f:00.1");
    assertThat(vfio.body().path("fix").asText()).isNotEmpty();

    Await.until("the proxy socket exists", () -> Files.exists(dir.resolve("proxy/vm1.qmp")));
  }
}
