package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The configuration's value sets reach the policy engine at start and with every reload: the
 * default preset lets API callers migrate only to the configured destinations.
 */
class PolicyValueSetsIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private static String explainMigrate(ApiTestClient api, String uri) {
    ApiTestClient.Reply reply = api.call(HttpMethod.POST, "/v1/policy/explain", "{\"caller\":\"api:ops\","
        + "\"command\":{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"" + uri + "\"}}}");
    assertThat(reply.status()).as(reply.body().toString()).isEqualTo(200);
    return reply.body().path("effect").asText() + " " + reply.body().path("rule").asText();
  }

  @Test
  void migrationDestinationsComeFromTheConfigurationAndFollowAReload() throws Exception {
    TestConfig config = harness.config().set("migration.destinations", "tcp:10.0.0.2:4444,unix:/run/migrate/vm1");
    Sidecar sidecar = harness.start(config);
    ApiTestClient api = harness.api(config);

    assertThat(explainMigrate(api, "tcp:10.0.0.2:4444")).isEqualTo("allow migrate-named");
    assertThat(explainMigrate(api, "unix:/run/migrate/vm1")).isEqualTo("allow migrate-named");
    assertThat(explainMigrate(api, "tcp:10.0.0.9:4444")).startsWith("deny");
    assertThat(explainMigrate(api, "exec:cat > /tmp/vm")).startsWith("deny");

    sidecar.reload(config.set("migration.destinations", "tcp:10.0.0.9:4444").build());

    assertThat(explainMigrate(api, "tcp:10.0.0.9:4444")).isEqualTo("allow migrate-named");
    assertThat(explainMigrate(api, "tcp:10.0.0.2:4444")).startsWith("deny");
  }
}
