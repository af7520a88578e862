package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The script {@code qmp-sidecar completion} prints, run by bash (and by zsh in the sh emulation
 * bashcompinit runs it in) against a real daemon serving two VMs: VM names where a VM is
 * expected, asked of the sidecar the line names (or of QMP_SIDECAR_API), nothing soon when no
 * sidecar answers, and the migration strategies after --strategy.
 */
class CompletionIT {
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private static Path script() throws Exception {
    Run completion = CliRunner.run("completion");
    assertThat(completion.exit()).isZero();
    return Files.writeString(harness.dir().resolve("qmp-sidecar.bash"), completion.out());
  }

  /** What the completion offers for the words (the last one is being completed), one per line. */
  private static List<String> complete(String shell, Path script, Map<String, String> env, String... words)
      throws Exception {
    String line = "COMP_WORDS=(" + LAUNCHER + " " + String.join(" ", words) + "); COMP_CWORD=" + words.length
        + "; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _complete_qmp-sidecar; "
        + "printf '%s\\n' \"${COMPREPLY[@]}\"";
    String program = shell.equals("bash") ? "source " + script + "; " + line
        : "autoload -U +X bashcompinit && bashcompinit; source " + script + "; emulate sh -c '" + line.replace("'",
            "'\\''") + "'";
    ProcessBuilder pb = new ProcessBuilder(shell, "-c", program);
    pb.environment().remove("QMP_SIDECAR_API");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", shell, err).isZero();
    return out.lines().filter(l -> !l.isEmpty()).toList();
  }

  @QemuTest
  void vmNamesComeFromTheRunningSidecarAndStrategiesFromTheBuild(QemuBinary binary) throws Exception {
    TestConfig config = harness.config().vm("web-1", harness.qemu(binary, "web-1", 1))
        .vm("db-1", harness.qemu(binary, "db-1", 1)).flowTestPolicy();
    harness.startReady(config);
    Path script = script();
    String api = "unix:" + config.apiSocket();

    Map<String, String> env = Map.of("QMP_SIDECAR_API", api);
    assertThat(complete("bash", script, Map.of(), "devices", "detach", "--api", api, ""))
        .containsExactlyInAnyOrder("web-1", "db-1");
    assertThat(complete("bash", script, env, "migrate", "start", "w")).containsExactly("web-1");
    assertThat(complete("bash", script, env, "migrate", "start", "web-1", "--to", "d")).containsExactly("db-1");
    assertThat(complete("bash", script, Map.of(), "migrate", "start", "web-1", "--strategy", ""))
        .containsExactlyInAnyOrder("unplug-replug", "vfio-migration", "failover", "block", "auto");
    assertThat(complete("bash", script, Map.of(), "migrate", "start", "web-1", "--strategy", "vf"))
        .containsExactly("vfio-migration");
    if (Files.isExecutable(Path.of("/usr/bin/zsh"))) {
      // Called directly, outside a completion widget, zsh's compgen does not filter by the prefix
      // (its compadd does, in a real completion): the candidates are compared whole.
      assertThat(complete("zsh", script, Map.of(), "devices", "detach", "--api", api, ""))
          .containsExactlyInAnyOrder("web-1", "db-1");
      assertThat(complete("zsh", script, env, "migrate", "start", "web-1", "--to", ""))
          .containsExactlyInAnyOrder("web-1", "db-1");
      assertThat(complete("zsh", script, Map.of(), "migrate", "start", "web-1", "--strategy", ""))
          .containsExactlyInAnyOrder("unplug-replug", "vfio-migration", "failover", "block", "auto");
    }

    assertThat(complete("bash", script, Map.of(), "devices", "list", "--api",
        "unix:" + harness.dir().resolve("nobody.sock"), "")).as("no sidecar there").isEmpty();
    Path silent = harness.dir().resolve("silent.sock");
    try (ServerSocketChannel hung = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      hung.bind(UnixDomainSocketAddress.of(silent));
      long start = System.nanoTime();
      assertThat(complete("bash", script, Map.of(), "devices", "list", "--api", "unix:" + silent, ""))
          .as("a sidecar that does not answer").isEmpty();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("bounded by the script's wait")
          .isLessThan(Duration.ofSeconds(Completions.VM_NAMES_SECONDS + 3));
    }
  }
}
