package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.daemon.Sidecar;
import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The HTTP API of a real sidecar in front of a real QEMU, over its Unix socket and TCP. */
class ApiIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private Sidecar sidecar;
  private ApiTestClient api;

  private void start(QemuBinary binary, UnaryOperator<TestConfig> settings) throws Exception {
    TestConfig config = settings.apply(harness.config().vm("vm1", harness.qemu(binary, "vm1", 1)));
    sidecar = harness.startReady(config);
    api = harness.api(config);
  }

  private Reply call(HttpMethod method, String uri, String body) {
    return api.call(method, uri, body);
  }

  private Reply call(RequestOptions options, String body) {
    return api.call(options, body);
  }

  @QemuTest
  void listsVmsAndRunsPassthroughCommands(QemuBinary binary) throws Exception {
    start(binary, c -> c);
    Reply vms = call(HttpMethod.GET, "/v1/vms", null);
    assertThat(vms.status()).isEqualTo(200);
    assertThat(vms.body().get(0).path("name").asText()).isEqualTo("vm1");
    assertThat(vms.body().get(0).path("state").asText()).isEqualTo("ready");
    assertThat(vms.body().get(0).path("qemu").asText()).isEqualTo(binary.version());

    Reply vm = call(HttpMethod.GET, "/v1/vms/vm1", null);
    assertThat(vm.body().path("status").asText()).isEqualTo("running");

    Reply status = call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}");
    assertThat(status.status()).isEqualTo(200);
    assertThat(status.body().path("return").path("running").asBoolean()).isTrue();

    Path socket = harness.dir().resolve("api.sock");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
  }

  @QemuTest
  void errorsAreProblemsWithQemusTextOrThePolicyRule(QemuBinary binary) throws Exception {
    // The answers' form, not the default preset (which denies device_del of a device the sidecar
    // did not attach before QEMU could say DeviceNotFound): HMP denied, everything else allowed.
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), """
        version: 1
        name: api-errors
        rules:
          - {id: no-hmp, effect: deny, callers: ['*'], commands: [human-monitor-command]}
          - {id: rest, effect: allow, callers: ['*'], commands: ['*']}
        """);
    start(binary, c -> c.policyFile(policy));
    Reply hmp = call(HttpMethod.POST, "/v1/vms/vm1/qmp",
        "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"}}");
    assertThat(hmp.status()).isEqualTo(403);
    assertThat(hmp.contentType()).isEqualTo("application/problem+json");
    assertThat(hmp.body().path("rule").asText()).isNotEmpty();
    assertThat(hmp.body().path("detail").asText()).contains("denied by rule " + hmp.body().path("rule").asText());
    List<String> members = new ArrayList<>();
    hmp.body().fieldNames().forEachRemaining(members::add);
    assertThat(members).as("RFC 9457's members first, then the failure's").startsWith("type", "title", "status",
        "detail", "instance").contains("kind", "rule");

    Reply ghost = call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"ghost\"}}");
    assertThat(ghost.status()).isEqualTo(422);
    assertThat(ghost.body().path("qemu").path("class").asText()).isEqualTo("DeviceNotFound");
    assertThat(ghost.body().path("qemu").path("desc").asText()).contains("ghost");

    Reply invalid = call(HttpMethod.POST, "/v1/vms/vm1/qmp?validate=true", "{\"execute\":\"migrate-set-capabilities\","
        + "\"arguments\":{\"capabilities\":[{\"capability\":\"events\",\"state\":\"true\"}]}}");
    assertThat(invalid.status()).isEqualTo(400);
    assertThat(invalid.body().path("violations").get(0).path("path").asText())
        .isEqualTo("arguments.capabilities[0].state");

    Reply noVm = call(HttpMethod.GET, "/v1/vms/nope", null);
    assertThat(noVm.status()).isEqualTo(404);
    assertThat(noVm.body().path("detail").asText()).contains("configured VMs: [vm1]");

    Reply notJson = call(HttpMethod.POST, "/v1/vms/vm1/qmp", "{oops");
    assertThat(notJson.status()).as("malformed JSON is a bad request, not a policy decision").isEqualTo(400);
    assertThat(notJson.body().path("detail").asText()).contains("not valid JSON");
    for (String route : List.of("/v1/vms/vm1/qmp", "/v1/vms/vm1/devices", "/v1/vms/vm1/migrations")) {
      Reply nothing = call(HttpMethod.POST, route, "null");
      assertThat(nothing.status()).as("%s with the body null: %s", route, nothing.body()).isEqualTo(400);
      assertThat(nothing.body().path("detail").asText()).contains("must be a JSON object, not null");
    }
  }

  @QemuTest
  void tcpNeedsABearerTokenThatNamesTheCaller(QemuBinary binary) throws Exception {
    Path tokens = Files.writeString(harness.dir().resolve("tokens"), "# name:token\nci:0123456789abcdef0123456789abcdef\n");
    start(binary, c -> c.apiTcp("127.0.0.1:0", tokens));
    int port = sidecar.api().tcpPort();
    RequestOptions base = new RequestOptions().setHost("127.0.0.1").setPort(port).setURI("/v1/vms");
    assertThat(call(new RequestOptions(base), null).status()).isEqualTo(401);
    assertThat(call(new RequestOptions(base).putHeader("authorization", "Bearer wrong-token-wrong-token"), null).status())
        .isEqualTo(401);
    assertThat(call(new RequestOptions(base).putHeader("authorization", "Bearer 0123456789abcdef0123456789abcdef"), null)
        .status()).isEqualTo(200);
    Reply explain = call(new RequestOptions(base).setURI("/v1/policy/explain").setMethod(HttpMethod.POST)
        .putHeader("authorization", "Bearer 0123456789abcdef0123456789abcdef"),
        "{\"caller\":\"dpu\",\"command\":{\"execute\":\"quit\"}}");
    assertThat(explain.body().path("effect").asText()).isEqualTo("deny");
    List<Reply> guesses = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      guesses.add(call(new RequestOptions(base).putHeader("authorization", "Bearer guess-" + i), null));
    }
    Reply throttled = guesses.stream().filter(r -> r.status() == 429).findFirst().orElseThrow(
        () -> new AssertionError("20 wrong tokens in a row were never throttled"));
    assertThat(throttled.body().path("detail").asText()).contains("too many wrong or missing bearer tokens");
    assertThat(call(new RequestOptions(base).setURI("/healthz"), null).status()).isEqualTo(200);
  }

  @QemuTest
  void aVmWhoseSocketAppearsInVmSocketDirIsServed(QemuBinary binary) throws Exception {
    Path vmDir = Files.createDirectories(harness.dir().resolve("vms"));
    TestConfig config = harness.config().vmSocketDir(vmDir);
    harness.start(config);
    api = harness.api(config);
    assertThat(call(HttpMethod.GET, "/v1/vms", null).body()).isEmpty();
    harness.track(QemuProcess.startQtest(binary, vmDir, "web-1", 1));
    Await.until("web-1 is discovered and connected", () -> {
      JsonNode vms = call(HttpMethod.GET, "/v1/vms", null).body();
      return vms.size() == 1 && vms.get(0).path("state").asText().equals("ready");
    });
    assertThat(call(HttpMethod.GET, "/v1/vms/web-1", null).body().path("status").asText()).isEqualTo("running");
  }

  @QemuTest
  void theTcpListenerServesTlsWithTheConfiguredCertificate(QemuBinary binary) throws Exception {
    Path cert = harness.dir().resolve("api.pem");
    Path key = harness.dir().resolve("api.key");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=localhost", "-keyout", key.toString(), "-out", cert.toString()).redirectErrorStream(true).start();
    assertThat(openssl.waitFor(60, java.util.concurrent.TimeUnit.SECONDS) && openssl.exitValue() == 0)
        .as("openssl made a test certificate: %s", new String(openssl.getInputStream().readAllBytes())).isTrue();
    Path tokens = Files.writeString(harness.dir().resolve("tokens"), "ci:0123456789abcdef0123456789abcdef\n");
    start(binary, c -> c.apiTcp("127.0.0.1:0", tokens).set("api.tls.cert", cert.toString())
        .set("api.tls.key", key.toString()));
    RequestOptions https = new RequestOptions().setHost("127.0.0.1").setPort(sidecar.api().tcpPort()).setURI("/v1/vms")
        .putHeader("authorization", "Bearer 0123456789abcdef0123456789abcdef");
    ApiTestClient trusting = new ApiTestClient(harness.vertx(), harness.dir().resolve("api.sock"),
        new io.vertx.core.http.HttpClientOptions().setSsl(true).setTrustOptions(new io.vertx.core.net.PemTrustOptions()
            .addCertPath(cert.toString())).setVerifyHost(false));
    assertThat(trusting.call(https, null).status()).isEqualTo(200);
  }
}
