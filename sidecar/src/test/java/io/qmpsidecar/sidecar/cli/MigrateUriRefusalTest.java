package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A migration URI whose scheme the sidecar never passes to QEMU ({@code exec:}, {@code file:},
 * {@code fd:}) is refused when the request arrives, even under a policy that lets the call through:
 * the API answers 409 {@code migration-refused}, not 202 with a run that fails later, and
 * {@code migrate start} exits 1 (docs/cli.md). Neither VM's QEMU runs: a request that got past the
 * check would meet a 503 (exit 4), so each refusal here was the URI check's.
 */
class MigrateUriRefusalTest {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private TestConfig config;

  @BeforeEach
  void start() throws Exception {
    Path allowAll = Files.writeString(harness.dir().resolve("allow-all.yaml"),
        "version: 1\nname: allow-all\nrules: []\ndefault: {effect: allow}\n");
    config = harness.config().vm("vm1", "unix:" + harness.dir().resolve("no-qemu-1.qmp"))
        .vm("vm2", "unix:" + harness.dir().resolve("no-qemu-2.qmp")).policyFile(allowAll);
    harness.start(config);
  }

  @Test
  void theApiRefusesAnExecUriWithMigrationRefusedBeforeAnyRunStarts() {
    ApiTestClient.Reply reply = harness.api(config).call(HttpMethod.POST, "/v1/vms/vm1/migrations",
        "{\"destination\":\"vm2\",\"uri\":\"exec:cat\"}");

    assertThat(reply.status()).as("%s", reply.body()).isEqualTo(409);
    assertThat(reply.body().path("type").asText()).isEqualTo("urn:qmp-sidecar:problem:migration-refused");
    assertThat(reply.body().path("detail").asText())
        .contains("migration URI 'exec:cat' is not allowed; use one of [rdma:, tcp:, unix:]");
    assertThat(harness.api(config).call(HttpMethod.GET, "/v1/vms/vm1/migration", null).status())
        .as("no run was started").isEqualTo(404);
  }

  @Test
  void migrateStartWithAFileUriExitsOneNamingTheSchemesAllowed() {
    Run run = CliRunner.run(new StringWriter(), "migrate", "start", "vm1", "--to", "vm2", "--uri", "file:/tmp/dump",
        "--api=unix:" + config.apiSocket());

    assertThat(run.exit()).as(run.err()).isEqualTo(1);
    assertThat(run.err()).contains("migration URI 'file:/tmp/dump' is not allowed");
    assertThat(run.out()).doesNotContain("started");
  }
}
