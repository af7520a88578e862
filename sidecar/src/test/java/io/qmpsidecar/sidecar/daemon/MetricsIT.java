package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.File;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code /metrics} of a running sidecar: the names and labels docs/operations.md lists, in a text Prometheus takes. */
class MetricsIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  /** The prefixes of every series: the sidecar's own, and the JVM's and the process's standard names. */
  private static final List<String> PREFIXES = List.of("qmp_sidecar_", "jvm_", "process_", "system_");

  @QemuTest
  void theSidecarsOwnMetricsArePrefixedAndTheVmsConnectionIsAGauge(QemuBinary binary) throws Exception {
    QemuProcess qemu = harness.qemu(binary, "vm1", 1);
    TestConfig config = harness.config().vm("vm1", qemu);
    harness.startReady(config);
    ApiTestClient api = harness.api(config);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}").status())
        .isEqualTo(200);

    assertThat(api.call(HttpMethod.POST, "/v1/vms/nope/qmp", "{\"execute\":\"query-status\"}").status())
        .isEqualTo(404);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":").status()).isEqualTo(400);
    assertThat(api.call(HttpMethod.DELETE, "/v1/vms/vm1/qmp", null).status()).isEqualTo(405);

    String metrics = scrapeWithJvm(api);
    assertThat(metrics).as("errors are counted under their route").contains(
        "qmp_sidecar_api_requests_total{route=\"/v1/vms/:vm/qmp\",status=\"200\"} 1.0",
        "qmp_sidecar_api_requests_total{route=\"/v1/vms/:vm/qmp\",status=\"404\"} 1.0",
        "qmp_sidecar_api_requests_total{route=\"/v1/vms/:vm/qmp\",status=\"400\"} 1.0",
        "qmp_sidecar_api_requests_total{route=\"/v1/vms/:vm/qmp\",status=\"405\"} 1.0");
    assertThat(metrics).contains("qmp_sidecar_qmp_connected{vm=\"vm1\"} 1.0", "qmp_sidecar_build_info{version=\"",
        "qmp_sidecar_qmp_command_seconds_count{command=\"query-status\",outcome=\"ok\",vm=\"vm1\"} 1",
        "qmp_sidecar_qmp_command_seconds_bucket{command=\"query-status\",outcome=\"ok\",vm=\"vm1\",le=\"10.0\"} 1",
        "qmp_sidecar_qmp_commands_in_flight{vm=\"vm1\"}", "qmp_sidecar_api_requests_total{route=\"/readyz\",status=",
        "jvm_memory_used_bytes{", "process_uptime_seconds ")
        .as("relay meters exist only with a relay").doesNotContain("relay_link_up", "relay_outbox_unacked");
    assertThat(series(metrics)).allSatisfy(line -> assertThat(PREFIXES).anyMatch(line::startsWith));
    assertThat(metrics.lines().filter(l -> l.startsWith("qmp_sidecar_qmp_command_seconds_bucket{"))).hasSize(13);
  }

  @Test
  void promtoolAcceptsTheScrapeOfASidecarWithoutVms() throws Exception {
    TestConfig config = harness.config();
    harness.start(config);
    ApiTestClient api = harness.api(config);
    api.call(HttpMethod.GET, "/healthz", null);
    String metrics = scrapeWithJvm(api);
    assertThat(metrics).contains("qmp_sidecar_build_info{").doesNotContain("qmp_sidecar_relay_");

    Path promtool = onPath("promtool");
    Assumptions.assumeTrue(promtool != null, "promtool is not on PATH: 'promtool check metrics' not run");

    Process check = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
    try (OutputStream in = check.getOutputStream()) {
      in.write(metrics.getBytes(StandardCharsets.UTF_8));
    }
    assertThat(check.waitFor(30, TimeUnit.SECONDS)).as("promtool ends within 30 s").isTrue();
    String said = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(check.exitValue()).as("promtool check metrics said: %s", said).isZero();
  }

  @Test
  void theMetricsListenerServesMetricsWithoutATokenAndNothingElse() throws Exception {
    TestConfig config = harness.config().set("api.metrics", "127.0.0.1:0");
    Sidecar sidecar = harness.start(config);
    URI base = URI.create("http://127.0.0.1:" + sidecar.api().metricsPort());
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(base.resolve("/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), BodyHandlers.ofString());
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("qmp_sidecar_build_info{");
    for (String path : List.of("/v1/vms", "/readyz", "/v1/openapi.json")) {
      assertThat(http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10)).build(),
          BodyHandlers.discarding()).statusCode()).as(path).isEqualTo(404);
    }
    assertThat(http.send(HttpRequest.newBuilder(base.resolve("/v1/vms/vm1/qmp")).timeout(Duration.ofSeconds(10))
        .POST(BodyPublishers.ofString("{\"execute\":\"quit\"}")).build(), BodyHandlers.discarding()).statusCode())
        .isEqualTo(404);
  }

  /** The scrape once the JVM's meters, bound in the background at start, are in it. */
  private static String scrapeWithJvm(ApiTestClient api) {
    String[] metrics = {""};
    Await.until("the JVM's meters are bound", () -> {
      metrics[0] = api.call(HttpMethod.GET, "/metrics", null).body().asText();
      return metrics[0].contains("jvm_gc_");
    });
    return metrics[0];
  }

  private static List<String> series(String metrics) {
    return metrics.lines().filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
  }

  private static Path onPath(String command) {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(File.pathSeparator)).filter(d -> !d.isEmpty()).map(d -> Path.of(d, command))
        .filter(Files::isExecutable).findFirst().orElse(null);
  }
}
