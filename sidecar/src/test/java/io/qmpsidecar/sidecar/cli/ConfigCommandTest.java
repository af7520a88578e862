package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConfigCommandTest {
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  @TempDir Path dir;

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

  /** What {@code run} refuses before it starts, {@code config check} refuses with the same words and exit code. */
  @Test
  void checkRefusesWhatRunRefusesWithTheSameMessage() throws IOException {
    Path tokens = Files.writeString(dir.resolve("tokens"), "garbage\n");
    Files.setPosixFilePermissions(tokens, PosixFilePermissions.fromString("rw-------"));
    Path policy = Files.writeString(dir.resolve("policy.yaml"), "version: 1\nrules: [ {id: broken");
    Path good = Files.writeString(dir.resolve("good-tokens"), "ops:0123456789abcdef0123456789abcdef\n");
    Files.setPosixFilePermissions(good, PosixFilePermissions.fromString("rw-------"));
    Path loose = Files.writeString(dir.resolve("loose-tokens"), "ops:0123456789abcdef0123456789abcdef\n");
    Files.setPosixFilePermissions(loose, PosixFilePermissions.fromString("rw-r--r--"));
    List<String> own = List.of("--set", "stateDir=" + dir.resolve("state"), "--set", "api.socket=" + dir.resolve("api.sock"),
        "--set", "proxy.dir=" + dir.resolve("proxy"));
    List<List<String>> refused = List.of(
        List.of("--set", "policy.file=" + dir.resolve("missing.yaml")),
        List.of("--set", "policy.file=" + policy),
        List.of("--set", "api.tcp=127.0.0.1:0", "--set", "api.tokensFile=" + tokens),
        List.of("--set", "api.tcp=127.0.0.1:0", "--set", "api.tokensFile=" + tokens.resolveSibling("none")),
        List.of("--set", "api.tls.cert=" + dir.resolve("cert.pem"), "--set", "api.tls.key=" + dir.resolve("key.pem")),
        List.of("--set", "relay.url=ws://10.0.0.1:7000/", "--set", "relay.hostId=h"),
        List.of("--set", "api.tcp=127.0.0.1:0", "--set", "api.tokensFile=" + loose),
        List.of("--set", "api.tcp=0.0.0.0:0", "--set", "api.tokensFile=" + good),
        List.of("--set", "proxy.groupAccess=yes-please"));
    for (List<String> args : refused) {
      String[] check = concat(List.of("config", "check"), own, args);
      String[] runIt = concat(List.of("run"), own, args);
      out.getBuffer().setLength(0);
      err.getBuffer().setLength(0);
      assertThat(run(check)).as("config check %s", args).isEqualTo(ExitCodes.INVALID);
      String checked = err.toString();
      err.getBuffer().setLength(0);
      assertThat(run(runIt)).as("run %s", args).isEqualTo(ExitCodes.INVALID);
      assertThat(err.toString()).as("run %s", args).isEqualTo("qmp-sidecar: " + checked)
          .doesNotContain("Exception");
    }
    assertThat(Files.exists(dir.resolve("state"))).as("run refused before it created anything").isFalse();
  }

  @Test
  void aStartFailureSaysItsCauseOnce() {
    ExecutionException wrapped = new ExecutionException(new IllegalArgumentException("/etc/t:1: expected NAME:TOKEN"));
    assertThat(RunCommand.rootMessage(wrapped)).isEqualTo("/etc/t:1: expected NAME:TOKEN");
    IllegalStateException withCause = new IllegalStateException("cannot listen on 0.0.0.0:80",
        new java.net.BindException("Permission denied"));
    assertThat(RunCommand.rootMessage(withCause)).isEqualTo("cannot listen on 0.0.0.0:80 (Permission denied)");
    ExecutionException noDirectory = new ExecutionException(new java.nio.file.NoSuchFileException("/proc/x"));
    assertThat(RunCommand.rootMessage(noDirectory)).isEqualTo("/proc/x: no such file or directory");
  }

  private static String[] concat(List<String> a, List<String> b, List<String> c) {
    return java.util.stream.Stream.of(a, b, c).flatMap(List::stream).toArray(String[]::new);
  }
}
