package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The proxy's socket file: its mode, and what it does when the path is taken. */
class ProxySocketFileTest {
  @TempDir Path dir;
  private FakeUpstream fake;
  private Vertx vertx;
  private QmpConnection upstream;
  private final PolicyEngine policy = new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
      Clock.systemUTC());
  private final ProxyGate gate = (caller, command, args) ->
      policy.decide(PolicyRequest.of(caller, command, args));

  @BeforeEach
  void connect() {
    fake = new FakeUpstream(dir, new VertxOptions());
    vertx = fake.vertx;
    upstream = fake.connection;
  }

  @AfterEach
  void close() {
    fake.close();
  }

  private QmpProxyServer start(QmpProxyOptions options) {
    return result(QmpProxyServer.start(vertx, upstream, gate, options));
  }

  @Test
  void theSocketIsOnlyForTheOwnerAndGoesAwayOnClose() throws Exception {
    Path path = dir.resolve("vm.qmp");
    QmpProxyServer proxy = start(QmpProxyOptions.of(path));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path)))
        .isEqualTo("rw-------");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
    }
    result(proxy.close());
    assertThat(path).doesNotExist();
  }

  @Test
  void groupAccessGivesMode0660() throws Exception {
    Path path = dir.resolve("vm.qmp");
    QmpProxyServer proxy = start(QmpProxyOptions.of(path).withGroupAccess(true));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path)))
        .isEqualTo("rw-rw----");
    result(proxy.close());
  }

  @Test
  void aFileThatIsNotASocketIsNeverReplaced() throws Exception {
    Path path = Files.writeString(dir.resolve("vm.qmp"), "keep me");
    assertThat(failure(QmpProxyServer.start(vertx, upstream, gate, QmpProxyOptions.of(path))))
        .isInstanceOf(QmpProxyException.class)
        .hasMessageContaining("exists and is not a socket: refusing to replace it");
    assertThat(Files.readString(path)).isEqualTo("keep me");
  }

  @Test
  void aSocketSomeoneListensOnIsRefused() {
    Path path = dir.resolve("vm.qmp");
    QmpProxyServer first = start(QmpProxyOptions.of(path));
    assertThat(failure(QmpProxyServer.start(vertx, upstream, gate, QmpProxyOptions.of(path))))
        .isInstanceOf(QmpProxyException.class)
        .hasMessageContaining("another process listens on " + path);
    result(first.close());
  }

  @Test
  void aStaleSocketIsReplaced() throws Exception {
    Path path = dir.resolve("vm.qmp");
    try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      dead.bind(UnixDomainSocketAddress.of(path));
    }
    assertThat(path).exists();
    QmpProxyServer proxy = start(QmpProxyOptions.of(path));
    try (Socat s = new Socat(path)) {
      assertThat(s.next().has("QMP")).isTrue();
    }
    result(proxy.close());
  }
}
