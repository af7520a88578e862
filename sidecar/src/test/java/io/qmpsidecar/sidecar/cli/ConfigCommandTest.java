package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ConfigCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void aValidConfigurationIsSummarised() {
    assertThat(run("config", "check", "--qmp", "vm1=unix:/run/qemu/vm1.qmp", "--set", "policy.preset=dpu")).isZero();
    assertThat(out.toString()).contains("configuration OK: 1 VM", "vm vm1: unix:/run/qemu/vm1.qmp",
        "policy: preset dpu", "relay: off");
  }

  @Test
  void anInvalidConfigurationExitsOneWithEveryProblem() {
    assertThat(run("config", "check", "--set", "timeouts.attach=soon", "--set", "nope=1")).isEqualTo(1);
    assertThat(err.toString()).contains("2 problems", "timeouts.attach: 'soon'", "unknown key 'nope'");
  }

  @Test
  void versionPrintsTheBuildAndJava() {
    assertThat(run("version")).isZero();
    assertThat(out.toString()).startsWith("qmp-sidecar ").contains("java " + System.getProperty("java.version"));
  }

  @Test
  void helpAndVersionWorkOnEveryCommandAndNoCommandIsAUsageError() {
    assertThat(run("version", "--help")).isZero();
    assertThat(out.toString()).startsWith("Usage: qmp-sidecar version");
    assertThat(run("version", "-V")).isZero();
    assertThat(run()).as("no command").isEqualTo(2);
    assertThat(err.toString()).startsWith("qmp-sidecar needs a command").contains("Usage: qmp-sidecar");
  }
}
