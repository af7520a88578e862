package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PolicyCommandTest {

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @Test
  void checkPrintsASummaryOfAValidFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.json");
    Files.writeString(file, "{\"version\":1,\"name\":\"j\",\"rules\":[{\"id\":\"q\",\"effect\":"
        + "\"allow\",\"callers\":\"*\",\"commands\":[\"query-*\"]}]}");

    assertThat(run("policy", "check", file.toString())).isEqualTo(0);
    assertThat(out.toString()).isEqualTo("OK: " + file + ": policy 'j' (schema 1, match first):"
        + " 1 rule, 0 rate limits, 0 automation rules" + System.lineSeparator());
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void checkPrintsEveryErrorOnItsOwnLineAndExitsOne(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, "version: 3\nname: x\nrules:\n  - id: a\n    effect: maybe\n");

    assertThat(run("policy", "check", file.toString())).isEqualTo(1);
    assertThat(err.toString().lines()).containsExactly(
        file + ":1:1: version: unsupported schema version 3: this qmp-sidecar reads version 1",
        file + ":4:5: rules[0]: missing required field 'callers': a caller id or glob, e.g. dpu,"
            + " cli, 'api:*', 'proxy:backup-?'",
        file + ":4:5: rules[0]: missing required field 'commands': a QMP command name or glob,"
            + " e.g. device_add, 'query-*'",
        file + ":5:5: rules[0].effect: 'maybe' is not valid: use allow or deny",
        "INVALID: " + file + ": 4 errors; nothing of this policy was applied");
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void checkOfAMissingFileSaysSo(@TempDir Path dir) {
    Path file = dir.resolve("absent.yaml");
    assertThat(run("policy", "check", file.toString())).isEqualTo(1);
    assertThat(err.toString()).startsWith(file + ": no such file: check the path");
  }

  @Test
  void explainAllowsAndDeniesWithTheDecidingRule() {
    assertThat(run("policy", "explain", "--preset", "dpu", "--caller", "dpu", "--via", "relay",
        "--fact", "attached-by-caller=dpu-vf2", "--command",
        "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"dpu-vf2\"}}")).isEqualTo(0);
    assertThat(run("policy", "explain", "--preset", "dpu", "--caller", "dpu", "--command",
        "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"dpu-vf2\"}}")).isEqualTo(3);
    assertThat(run("policy", "explain", "--preset", "default", "--caller", "api:ops",
        "--value-set", "migration.destinations=tcp:10.0.0.2:4444", "--command",
        "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:10.0.0.2:4444\"}}")).isEqualTo(0);
    assertThat(out.toString().lines()).containsExactly(
        "ALLOW by rule dpu-detach: the DPU may detach the functions it attached",
        "DENY by rule dpu-nothing-else: the DPU may only attach and detach its functions and run"
            + " read-only queries",
        "ALLOW by rule migrate-named: migration to a destination the configuration names is"
            + " allowed for local automation");
  }

  @Test
  void explainDeniesMalformedCommandText() {
    assertThat(run("policy", "explain", "--preset", "default", "--caller", "cli", "--command",
        "{\"execute\":\"quit\",\"execute\":\"query-status\"}")).isEqualTo(3);
    assertThat(out.toString()).startsWith("DENY by rule invalid-request: not a single well-formed"
        + " JSON object without duplicate keys");
  }

  @Test
  void usageErrorsExitTwoWithOneClearLine() {
    assertThat(run("policy", "explain", "--preset", "default", "--caller", "root", "--command",
        "{}")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst()).hasValue("invalid caller 'root': use dpu, cli,"
        + " api:<token-name>, proxy:<client> or rule:<id> (names of 1-64 characters from"
        + " A-Z a-z 0-9 . _ @ -)");

    err.getBuffer().setLength(0);
    assertThat(run("policy", "check", "--preset", "default", "x.yaml")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst())
        .hasValue("give either a policy FILE or --preset NAME (default, dpu)");

    err.getBuffer().setLength(0);
    assertThat(run("policy", "explain", "--preset", "dpu", "--caller", "dpu", "--command", "{}",
        "--facts", "{\"bdf\":1}")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst().orElseThrow())
        .startsWith("invalid --facts: 'bdf' must be a string; give {");

    err.getBuffer().setLength(0);
    assertThat(run("policy", "explain", "--preset", "dpu", "--caller", "dpu", "--command", "{}",
        "--fact", "attached")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst())
        .hasValue("invalid --fact 'attached': write NAME=VALUE, e.g. attached=hp0");

    err.getBuffer().setLength(0);
    assertThat(run("policy", "explain", "--preset", "dpu", "--caller", "dpu", "--command", "{}",
        "--via", "sideways")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst()).hasValue("unknown way 'sideways': use one of"
        + " passthrough, attach, detach, migrate, relay, automation, live-update");
  }
}
