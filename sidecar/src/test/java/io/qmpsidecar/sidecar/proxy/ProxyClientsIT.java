package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real clients' sessions through the proxy match the same sessions on a direct monitor of the
 * same QEMU, under the default policy: go-qemu (Debian's package), and qemu.qmp's async client,
 * its legacy synchronous wrapper and qmp-shell as reproduced by {@code proxy/qmpclients/qmpclients.py}
 * (they are not on this machine's package index; the script follows their wire behaviour).
 */
class ProxyClientsIT {

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();

  private List<String> python(String mode, Path socket) throws IOException, InterruptedException {
    Path script = fx.dir().resolve("qmpclients.py");
    if (!Files.exists(script)) {
      try (InputStream in = getClass().getResourceAsStream("/proxy/qmpclients/qmpclients.py")) {
        Files.copy(in, script);
      }
    }
    String out = ProxyFixture.run(List.of("python3", script.toString(), mode, socket.toString()), "");
    assertThat(out).as("qmpclients.py %s", mode).doesNotContain("Traceback");
    return out.lines().toList();
  }

  private void sameSession(String mode) throws Exception {
    List<String> direct = python(mode, fx.direct());
    List<String> proxied = python(mode, fx.proxy.socketPath());
    assertThat(proxied).as("%s through the proxy", mode).containsExactlyElementsOf(direct);
  }

  @QemuTest
  void qemuQmpsAsyncClientSeesWhatItSeesOnQemu(QemuBinary binary) throws Exception {
    fx.start(binary, fx.options(), Policies.preset("default"));
    sameSession("async");
    List<String> lines = python("async", fx.proxy.socketPath());
    // The event QEMU wrote before stop's reply is there when the reply is.
    assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("stop return {} events ['STOP']"));
    assertThat(lines).contains("no-such-command error CommandNotFound: The command no-such-command"
        + " has not been found events []");
  }

  @QemuTest
  void theLegacySynchronousClientSeesEachEventRightAfterTheCommand(QemuBinary binary) throws Exception {
    fx.start(binary, fx.options(), Policies.preset("default"));
    sameSession("legacy");
    assertThat(python("legacy", fx.proxy.socketPath())).contains(
        "stop return {} events right after ['STOP']", "cont return {} events right after ['RESUME']");
  }

  @QemuTest
  void qmpShellSessionsMatch(QemuBinary binary) throws Exception {
    fx.start(binary, fx.options(), Policies.preset("default"));
    sameSession("shell");
    assertThat(python("shell", fx.proxy.socketPath())).contains("events ['STOP']", "events ['RESUME']");
  }

  @QemuTest
  void goQemuSessionsMatch(QemuBinary binary) throws Exception {
    fx.start(binary, fx.options(), Policies.preset("default"));
    Path go = GoQmpClient.build(fx.dir());
    List<String> direct = GoQmpClient.runSameAgainst(go, fx.direct()).lines().toList();
    List<String> proxied = GoQmpClient.runSameAgainst(go, fx.proxy.socketPath()).lines().toList();
    assertThat(proxied).containsExactlyElementsOf(direct);
  }
}
