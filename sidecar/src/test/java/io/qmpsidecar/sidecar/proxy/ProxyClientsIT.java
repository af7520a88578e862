package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients' sessions through the proxy match the same sessions on a direct monitor of the
 * same QEMU, under the default policy: go-qemu (Debian's package), and qemu.qmp's async client,
 * its legacy synchronous wrapper and qmp-shell as reproduced by {@code proxy/qmpclients/qmpclients.py}
 * (they are not on this machine's package index; the script follows their wire behaviour).
 */
class ProxyClientsIT {
  private static final long RUN_SECONDS = 60;
  private static Vertx vertx;

  @TempDir Path dir;
  private ProxyFixture fx;

  @BeforeAll
  static void startVertx() {
    vertx = ProxyFixture.nativeVertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @BeforeEach
  void fixture() {
    fx = new ProxyFixture(vertx, dir);
  }

  @AfterEach
  void tearDown() throws Exception {
    fx.close();
  }

  private List<String> python(String mode, Path socket) throws IOException, InterruptedException {
    Path script = dir.resolve("qmpclients.py");
    if (!Files.exists(script)) {
      try (InputStream in = getClass().getResourceAsStream("/proxy/qmpclients/qmpclients.py")) {
        Files.copy(in, script);
      }
    }
    Process p = new ProcessBuilder("python3", script.toString(), mode, socket.toString())
        .redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(RUN_SECONDS, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("qmpclients.py " + mode + " did not finish in " + RUN_SECONDS + " s");
    }
    assertThat(p.exitValue()).as("qmpclients.py %s printed:\n%s", mode, out).isZero();
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
    Path go = GoQmpClient.build(dir);
    List<String> direct = GoQmpClient.runSameAgainst(go, fx.direct()).lines().toList();
    List<String> proxied = GoQmpClient.runSameAgainst(go, fx.proxy.socketPath()).lines().toList();
    assertThat(proxied).containsExactlyElementsOf(direct);
  }
}
