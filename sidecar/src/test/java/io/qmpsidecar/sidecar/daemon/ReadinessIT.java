package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code /readyz} says ready only when it is true: every QEMU answers, its run state is read (what
 * {@code vm.list} gives the DPU) and every proxy socket is open.
 */
class ReadinessIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void readyMeansAnsweringAndServedAndAStoppedQemuIsNotReady(QemuBinary binary) throws Exception {
    QemuProcess qemu = harness.qemu(binary, "vm1", 1);
    TestConfig config = harness.config().vm("vm1", qemu);
    Sidecar sidecar = harness.start(config);
    ApiTestClient api = harness.api(config);
    Await.until("the sidecar says it is ready", () -> {
      int status = api.call(HttpMethod.GET, "/readyz", null).status();
      assertThat(status == 503 || Files.exists(config.proxyDir().resolve("vm1.qmp")))
          .as("ready only once the proxy socket is open").isTrue();
      assertThat(status == 503 || sidecar.operations().vms(Caller.dpu()).get(0).runState().isPresent())
          .as("ready only once the VM's run state is read").isTrue();
      return status == 200;
    });

    qemu.suspend();
    Await.until("a stopped QEMU makes the sidecar not ready", () -> api.call(HttpMethod.GET, "/readyz", null)
        .status() == 503);
    Reply notReady = api.call(HttpMethod.GET, "/readyz", null);
    assertThat(notReady.body().path("notReady").get(0).asText()).contains("vm vm1").contains("did not answer");

    qemu.resume();
    Await.until("ready again once QEMU answers", () -> api.call(HttpMethod.GET, "/readyz", null).status() == 200);
  }
}
