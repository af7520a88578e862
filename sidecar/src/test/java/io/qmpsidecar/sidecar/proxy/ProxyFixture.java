package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.net.NetClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The proxy ITs' fixture, a JUnit extension ({@code @RegisterExtension final ProxyFixture fx =
 * new ProxyFixture();}): a temporary directory per test, one Vert.x on Netty's epoll transport
 * for the whole run, and on {@link #start} a real QEMU with two monitors: the sidecar's
 * connection on the first (with the proxy in front of it) and a second, direct one, so that the
 * same bytes can be sent to QEMU itself and through the proxy. The gate is a
 * {@link PolicyEngine} whose audit records the tests read. After each test it stops only what it
 * started.
 */
final class ProxyFixture implements BeforeEachCallback, AfterEachCallback {
  private static final ExtensionContext.Namespace SHARED = ExtensionContext.Namespace.create(ProxyFixture.class);

  /** The run's Vert.x, closed by JUnit when the run ends. */
  private static final class SharedVertx implements AutoCloseable {
    final Vertx vertx = nativeVertx();

    @Override
    public void close() {
      result(vertx.close());
    }
  }
  static final Policy ALLOW_ALL = Policies.parse("version: 1\nname: allow-all\nrules:\n"
      + "  - {id: all, effect: allow, callers: ['proxy:*'], commands: ['*']}\n", "test", false);

  final List<AuditRecord> audit = new CopyOnWriteArrayList<>();
  final List<AutoCloseable> cleanup = new ArrayList<>();
  private Vertx vertx;
  private NetClient net;
  private Path dir;
  QemuProcess qemu;
  QmpClient client;
  QmpConnection upstream;
  QmpProxyServer proxy;
  PolicyEngine policy;

  /**
   * A Vert.x on Netty's epoll transport, as the sidecar runs: half-closed connections need it
   * (Netty's JDK Unix sockets close on the end of input).
   */
  static Vertx nativeVertx() {
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    if (!vertx.isNativeTransportEnabled()) {
      vertx.close();
      throw new AssertionError("Netty's epoll transport is not available: "
          + vertx.unavailableNativeTransportCause());
    }
    return vertx;
  }

  /**
   * Whether the proxy reproduces this QEMU's JSON parser, and so its answers to malformed JSON:
   * QEMU 7.2 to 10.x. QEMU 11 replaced it (a push parser that reports errors at once, with a
   * "line:column: " prefix and other words); well-formed input is answered the same by all.
   */
  static boolean reproducesJsonParser(QemuBinary binary) {
    return binary.major() < 11;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    vertx = context.getRoot().getStore(SHARED)
        .getOrComputeIfAbsent(SharedVertx.class, k -> new SharedVertx(), SharedVertx.class).vertx;
    dir = Files.createTempDirectory("qmp-proxy-it-");
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    try {
      close();
    } finally {
      if (net != null) {
        result(net.close());
      }
      try (var files = Files.walk(dir)) {
        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  Vertx vertx() {
    return vertx;
  }

  /** This test's own directory, removed after it. */
  Path dir() {
    return dir;
  }

  /** A Vert.x client that proxy tests connect through, as {@link ProxyTestClient}s. */
  ProxyTestClient vertxClient(Path socket) {
    if (net == null) {
      net = vertx.createNetClient();
    }
    return closeLater(new ProxyTestClient(vertx, net, socket));
  }

  Path direct() {
    return dir.resolve("direct.qmp");
  }

  QmpProxyOptions options() {
    return QmpProxyOptions.of(dir.resolve("proxy.qmp"));
  }

  QmpProxyServer start(QemuBinary binary, QmpProxyOptions options, Policy rules) {
    qemu = QemuProcess.startQtest(binary, dir, "vm", 1, "-qmp", "unix:" + direct() + ",server=on,wait=off");
    // QEMU opens its monitors in order: once the second exists, the first listens.
    Await.until("QEMU's second monitor is open", () -> Files.exists(direct()));
    client = QmpClient.create(vertx, QmpClientOptions.of(qemu.qmpAddress()));
    upstream = result(client.connect());
    policy = new PolicyEngine(rules, audit::add, Clock.systemUTC());
    ProxyGate gate = (caller, command, args) -> policy.decide(PolicyRequest.of(caller, command, args));
    proxy = result(QmpProxyServer.start(vertx, upstream, gate, options));
    return proxy;
  }

  <T extends AutoCloseable> T closeLater(T resource) {
    cleanup.add(resource);
    return resource;
  }

  LineSocket connect(Path socket) {
    return closeLater(new LineSocket(socket));
  }

  /**
   * Runs {@code command} with {@code input} on its standard input, then its end; returns what it
   * printed (standard output and error). Fails when it runs longer than 60 s.
   */
  static String run(List<String> command, String input) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(input.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not exit within 60 s");
    }
    return out;
  }

  /** The user id this test runs as: the owner of a directory it created. */
  int uid() {
    try {
      return (Integer) Files.getAttribute(dir, "unix:uid");
    } catch (IOException e) {
      throw new AssertionError("cannot read the owner of " + dir, e);
    }
  }

  private void close() throws Exception {
    for (AutoCloseable c : cleanup) {
      c.close();
    }
    if (proxy != null) {
      result(proxy.close());
    }
    if (client != null) {
      result(client.close());
    }
    if (qemu != null) {
      qemu.close();
    }
  }
}
