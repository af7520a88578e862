package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.extension.RegisterExtension;

/** /v1/vms/{vm}/devices and the per-VM QMP proxy of a real sidecar in front of a real QEMU. */
class DevicesIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private Reply call(HttpMethod method, String uri, String body) {
    return harness.api().call(method, uri, body);
  }

  @QemuTest
  void attachListDetachThroughTheApiAndTheProxySocketIsOpen(QemuBinary binary) throws Exception {
    QemuProcess qemu = harness.qemu(binary, "vm1", 2);
    TestConfig config = harness.config().vm("vm1", qemu).detachWait(Duration.ofMillis(300)).flowTestPolicy();
    harness.startReady(config);

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

    Await.until("the proxy socket exists", () -> Files.exists(config.proxyDir().resolve("vm1.qmp")));
  }
}
