package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * The policy decides each request once, whatever the entry point: one audit record and one
 * rate-limit token per request. A burst of N tokens lets exactly N requests through; the next
 * one is throttled.
 */
class PolicyOnceIT {
  private static final int API_BURST = 5;
  private static final int DPU_BURST = 3;
  private static final String POLICY = """
      version: 1
      name: once
      rules:
        - {id: local, effect: allow, callers: ["api:local"], commands: ["*"], reason: the test's scripts}
        - {id: dpu, effect: allow, callers: [dpu], commands: ["*"], reason: the test's DPU}
      default: {effect: deny, reason: not the test}
      rate-limits:
        - {id: local, callers: ["api:local"], burst: %d, per-second: 0.001}
        - {id: dpu, callers: [dpu], burst: %d, per-second: 0.001}
      """.formatted(API_BURST, DPU_BURST);

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final ListAppender<ILoggingEvent> audit = new ListAppender<>();

  @BeforeEach
  void captureAudit() {
    Logger logger = (Logger) LoggerFactory.getLogger("io.qmpsidecar.audit");
    Level level = logger.getLevel();
    logger.setLevel(Level.INFO);
    audit.start();
    logger.addAppender(audit);
    harness.track(() -> {
      logger.detachAppender(audit);
      logger.setLevel(level);
    });
  }

  /** Read under the appender's lock, which its doAppend holds while the sidecar logs. */
  private long auditedFor(String caller) {
    synchronized (audit) {
      return audit.list.stream().filter(e -> e.getFormattedMessage().contains("caller=" + caller)).count();
    }
  }

  private void forgetAudited() {
    synchronized (audit) {
      audit.list.clear();
    }
  }

  @QemuTest
  void eachApiRequestIsDecidedOnce(QemuBinary binary) throws Exception {
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), POLICY);
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 2)).policyFile(policy);
    harness.startReady(config);
    ApiTestClient api = harness.api(config);
    forgetAudited();

    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"n1\"}").status())
        .isEqualTo(201);
    assertThat(api.call(HttpMethod.DELETE, "/v1/vms/vm1/devices/ghost", null).status()).isEqualTo(200);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}").status()).isEqualTo(200);
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1/devices", null).status()).isEqualTo(200);
    assertThat(api.call(HttpMethod.GET, "/v1/vms/vm1", null).status()).isEqualTo(200);
    assertThat(auditedFor("api:local")).as("one audit record per request").isEqualTo(API_BURST);

    Reply throttled = api.call(HttpMethod.GET, "/v1/vms", null);
    assertThat(throttled.status()).as("one token per request: the burst is spent").isEqualTo(429);
    assertThat(throttled.body().path("kind").asText()).isEqualTo("throttled");
    assertThat(auditedFor("api:local")).isEqualTo(API_BURST + 1);
  }

  @QemuTest
  void eachDpuRequestIsDecidedOnce(QemuBinary binary) throws Exception {
    DpuEndpoint dpu = result(DpuEndpoint.listen(harness.vertx(), DpuEndpointOptions.defaults().withPort(0)));
    harness.track(() -> result(dpu.close()));
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), POLICY);
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 2)).policyFile(policy)
        .relay("ws://127.0.0.1:" + dpu.actualPort(), "host-1");
    harness.startReady(config);
    Await.until("the DPU link is up", () -> dpu.connectedHosts().contains("host-1"));
    ApiTestClient api = harness.api(config);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"dpu-n1\"}").status())
        .isEqualTo(201);
    forgetAudited();

    result(dpu.request("host-1", "device.detach", Map.of("opId", "d-1", "vm", "vm1", "deviceId", "dpu-n1")));
    result(dpu.request("host-1", "device.list", Map.of("vm", "vm1")));
    result(dpu.request("host-1", "vm.list", Map.of()));
    Await.until("the detach has run", () -> auditedFor("dpu") >= DPU_BURST);
    assertThat(auditedFor("dpu")).as("one audit record per request").isEqualTo(DPU_BURST);

    Throwable throttled = Await.failure(dpu.request("host-1", "vm.list", Map.of()));
    assertThat(throttled).as("one token per request: the burst is spent").hasMessageContaining("TOO_MANY_REQUESTS");
    assertThat(auditedFor("dpu")).isEqualTo(DPU_BURST + 1);
  }
}
