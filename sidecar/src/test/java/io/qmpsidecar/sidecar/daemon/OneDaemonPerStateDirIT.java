package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A second daemon on the state directory or the API socket of a running one refuses to start,
 * naming the first one's pid, and leaves the first one whole (its socket answers); once the first
 * has stopped, the second starts. In one JVM and as two processes started by bin/qmp-sidecar.
 */
class OneDaemonPerStateDirIT {
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @Test
  void aSecondDaemonOnTheSameStateDirOrApiSocketIsRefused() throws Exception {
    TestConfig first = harness.config();
    Sidecar running = harness.start(first);
    ApiTestClient api = harness.api(first);

    long pid = ProcessHandle.current().pid();
    assertThatThrownBy(() -> Sidecar.start(first.build(), SidecarHarness.START))
        .hasStackTraceContaining("another qmp-sidecar (pid " + pid + ") uses the state directory "
            + harness.dir().resolve("state"));
    TestConfig sameSocket = harness.config().set("stateDir", harness.dir().resolve("state2").toString());
    assertThatThrownBy(() -> Sidecar.start(sameSocket.build(), SidecarHarness.START))
        .hasStackTraceContaining("another qmp-sidecar (pid " + pid + ") uses the API socket " + first.apiSocket());
    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).as("the first daemon still serves").isEqualTo(200);

    running.stop();
    Sidecar second = harness.start(sameSocket);
    assertThat(api.call(HttpMethod.GET, "/readyz", null).status()).isEqualTo(200);
    second.stop();
  }

  @Test
  void aSecondDaemonProcessIsRefusedAndTheFirstStillAnswers() throws Exception {
    Path dir = harness.dir().resolve("processes");
    Path socket = dir.resolve("api.sock");
    Process first = launch(daemon(socket, dir.resolve("state1"), dir.resolve("proxy1")));
    harness.track(() -> stop(first));
    Await.until("the first daemon answers on " + socket, () -> readyz(socket).startsWith("HTTP/1.1 200"));

    for (List<String> second : List.of(daemon(socket, dir.resolve("state2"), dir.resolve("proxy2")),
        daemon(dir.resolve("other.sock"), dir.resolve("state1"), dir.resolve("proxy2")))) {
      Process p = launch(second);
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the second daemon ends").isTrue();
      assertThat(p.exitValue()).as(output).isEqualTo(1);
      assertThat(output).contains("qmp-sidecar: another qmp-sidecar (pid " + first.pid() + ") uses ")
          .doesNotContain("Exception");
      assertThat(readyz(socket)).as("the first daemon still answers").startsWith("HTTP/1.1 200");
    }
    assertThat(Files.exists(dir.resolve("other.sock"))).as("the refused daemon made no socket").isFalse();
  }

  private static List<String> daemon(Path socket, Path stateDir, Path proxyDir) {
    return List.of("run", "--set", "api.socket=" + socket, "--set", "stateDir=" + stateDir,
        "--set", "proxy.dir=" + proxyDir);
  }

  private static Process launch(List<String> args) throws IOException {
    List<String> command = new ArrayList<>(List.of(LAUNCHER.toString()));
    command.addAll(args);
    return new ProcessBuilder(command).redirectErrorStream(true).start();
  }

  private static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  /** The status line and headers of GET /readyz on the Unix socket; empty when nothing answers. */
  private static String readyz(Path socket) {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(socket));
      ch.write(ByteBuffer.wrap("GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer buf = ByteBuffer.allocate(4096);
      ch.read(buf);
      return new String(buf.array(), 0, buf.position(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return "";
    }
  }
}
