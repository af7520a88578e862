package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** contrib/systemd/qmp-sidecar@.service passes systemd-analyze verify, where systemd is installed. */
class SystemdUnitTest {
  private static final Path UNIT = Path.of("..", "contrib", "systemd", "qmp-sidecar@.service");
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();

  @Test
  void theTemplateUnitVerifies(@TempDir Path dir) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "systemd-analyze is not installed here");
    // An instance of the template, run from this checkout's launcher instead of /usr/bin.
    String unit = Files.readString(UNIT).replace("/usr/bin/qmp-sidecar", LAUNCHER.toString());
    Path instance = Files.writeString(dir.resolve("qmp-sidecar@vm1.service"), unit);
    Process p = new ProcessBuilder("systemd-analyze", "verify", instance.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).as("systemd-analyze verify output").isEmpty();
    assertThat(p.exitValue()).isZero();
    assertThat(unit).contains("NoNewPrivileges=yes", "ProtectSystem=strict", "ExecReload=/bin/kill -HUP $MAINPID");
  }
}
