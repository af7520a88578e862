package io.qmpsidecar.sidecar.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.testing.ApiTestClient.Reply;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Request bodies are bound strictly before anything else looks at them, and a wrong method is a
 * 405 naming the right ones. The VM's QEMU is not running: a body that passed binding would meet
 * a 503, so every 400 here was decided by the binding alone.
 */
class ApiBindingTest {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private ApiTestClient api;

  @BeforeEach
  void start() throws Exception {
    TestConfig config = harness.config().vm("vm1", "unix:" + harness.dir().resolve("no-qemu.qmp"));
    harness.start(config);
    api = harness.api(config);
  }

  private Reply post(String uri, String body) {
    return api.call(HttpMethod.POST, uri, body);
  }

  private static void badRequestNaming(Reply reply, String... words) {
    assertThat(reply.status()).as("%s", reply.body()).isEqualTo(400);
    assertThat(reply.contentType()).isEqualTo("application/problem+json");
    assertThat(reply.body().path("kind").asText()).isEqualTo("invalid");
    assertThat(reply.body().path("detail").asText()).contains(words);
  }

  @Test
  void anMdevIsNamedByAUuidAloneAndNeverWithAHostDriver() {
    String uuid = "88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10";
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"mdev\":\"mtty-1\"}"), "invalid mdev 'mtty-1'",
        "/sys/bus/mdev/devices");
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"mdev\":\"" + uuid + "\",\"bdf\":\"0000:03:00.2\"}"),
        "by 'mdev' alone");
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"mdev\":\"" + uuid + "\",\"hostDriver\":\"vfio-pci\"}"),
        "an mdev is never rebound: leave hostDriver out");
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"mdev\":\"" + uuid + "\",\"driver\":\"e1000e\",\"id\":\"n1\"}"),
        "e1000e is emulated and takes no host function");
  }

  @Test
  void aStringWhereANumberOrABooleanBelongsIsRefusedNotCoerced() {
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"rombar\":\"abc\"}}"),
        "options.rombar", "an integer");
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"rombar\":\"1\"}}"),
        "options.rombar");
    badRequestNaming(post("/v1/vms/vm1/devices",
        "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"enableMigration\":\"yes\"}}"),
        "options.enableMigration", "true or false");
    badRequestNaming(post("/v1/vms/vm1/devices",
        "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"enableMigration\":1}}"), "options.enableMigration");
    badRequestNaming(post("/v1/vms/vm1/migrations",
        "{\"destination\":\"vm2\",\"uri\":\"tcp:127.0.0.1:4444\",\"parameters\":{\"maxBandwidth\":\"lots\"}}"),
        "parameters.maxBandwidth");
    badRequestNaming(post("/v1/vms/vm1/migrations",
        "{\"destination\":\"vm2\",\"uri\":\"tcp:127.0.0.1:4444\",\"parameters\":{\"downtimeLimitMs\":1.5}}"),
        "parameters.downtimeLimitMs");
  }

  @Test
  void aNumberWhereAStringBelongsIsRefused() {
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":5}"), "'id'", "a string");
  }

  @Test
  void anUnknownOrMisspeltMemberIsRefusedNamingTheKnownOnes() {
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"bdff\":\"0000:03:00.1\"}"), "unknown member 'bdff'", "bdf");
    badRequestNaming(post("/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"romBar\":0}}"),
        "unknown member 'options.romBar'", "rombar");
    badRequestNaming(post("/v1/vms/vm1/migrations", "{\"destination\":\"vm2\",\"uri\":\"tcp:127.0.0.1:1\","
        + "\"stratgy\":\"block\"}"), "unknown member 'stratgy'");
    badRequestNaming(post("/v1/policy/explain", "{\"caller\":\"dpu\",\"command\":{\"execute\":\"quit\"},\"x\":1}"),
        "unknown member 'x'");
  }

  @Test
  void malformedJsonIsABadRequestNotAPolicyDecision() {
    badRequestNaming(post("/v1/vms/vm1/qmp", "{oops"), "not valid JSON");
    badRequestNaming(post("/v1/vms/vm1/qmp", "{\"execute\":\"stop\",\"execute\":\"query-status\"}"),
        "Duplicate field 'execute'");
    badRequestNaming(post("/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"} {\"execute\":\"stop\"}"), "body");
    badRequestNaming(post("/v1/vms/vm1/qmp", "{\"execute\":\"stop\",\"arguments\":[]}"), "'arguments'", "an object");
    badRequestNaming(post("/v1/vms/vm1/qmp", "{\"arguments\":{}}"), "'execute'");
    badRequestNaming(post("/v1/vms/vm1/devices", ""), "must be a JSON object");
    badRequestNaming(post("/v1/vms/vm1/devices", "[1]"), "must be a JSON object");
  }

  @Test
  void aWellFormedBodyPassesTheBindingAndMeetsTheVm() {
    Reply reply = post("/v1/vms/vm1/devices", "{\"driver\":\"e1000e\",\"id\":\"n1\",\"options\":{\"rombar\":0}}");
    assertThat(reply.status()).as("%s", reply.body()).isEqualTo(503);
    assertThat(reply.body().path("type").asText()).isEqualTo(Problem.BASE + "vm-unavailable");
  }

  @Test
  void aWrongMethodIs405WithTheMethodsTheRouteTakes() {
    HttpClientResponse put = api.stream(api.options(HttpMethod.PUT, "/v1/vms/vm1/devices"), b -> { });
    assertThat(put.statusCode()).isEqualTo(405);
    assertThat(put.getHeader("allow")).isEqualTo("GET, POST");
    HttpClientResponse delete = api.stream(api.options(HttpMethod.DELETE, "/v1/vms"), b -> { });
    assertThat(delete.statusCode()).isEqualTo(405);
    assertThat(delete.getHeader("allow")).isEqualTo("GET");
    Reply missing = api.call(HttpMethod.GET, "/v1/nothing-here", null);
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.contentType()).isEqualTo("application/problem+json");
  }
}
