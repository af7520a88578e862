package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy opens before it has read QEMU's commands, and holds its clients' commands until it
 * has; on one event loop with the native transport, as the sidecar's small profile runs. A fake
 * QEMU, because a real one answers {@code query-qmp-schema} within milliseconds: the fake holds
 * the answer back, or refuses it, as long as the test needs.
 */
class ProxySchemaTest {
  private static final String SCHEMA = "[{\"name\":\"query-status\",\"meta-type\":\"command\","
      + "\"arg-type\":\"0\",\"ret-type\":\"1\"},{\"name\":\"qmp_capabilities\",\"meta-type\":"
      + "\"command\",\"arg-type\":\"0\",\"ret-type\":\"1\"}]";
  private static final String COMMANDS = "{\"execute\":\"qmp_capabilities\",\"id\":1}\n"
      + "{\"execute\":\"no-such-command\",\"id\":2}\n{\"execute\":\"query-status\",\"id\":3}\n";

  @TempDir Path dir;
  private FakeUpstream fake;
  private Vertx vertx;
  private QmpConnection upstream;
  private final List<Runnable> schemaAnswers = new CopyOnWriteArrayList<>();
  private final List<String> decided = new CopyOnWriteArrayList<>();
  private final PolicyEngine policy = new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
      Clock.systemUTC());
  private final ProxyGate gate = (caller, command, args) -> {
    decided.add(command);
    return policy.decide(PolicyRequest.of(caller, command, args));
  };

  @BeforeEach
  void connect() {
    fake = new FakeUpstream(dir, new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
    vertx = fake.vertx;
    upstream = fake.connection;
  }

  @AfterEach
  void close() {
    fake.close();
  }

  /** QEMU's answer to {@code query-qmp-schema} waits in {@link #schemaAnswers} with {@code body}. */
  private void holdSchema(String body) {
    fake.qemu.onCommand((req, peer) -> {
      if (req.path("execute").asText().equals("query-qmp-schema")) {
        schemaAnswers.add(() -> peer.send(FakeQmpServer.reply(req, body)));
      } else {
        peer.ok(req);
      }
    });
  }

  /**
   * Connects, sends {@link #COMMANDS} and shuts down its sending side at once, as socat sends a
   * file, while the one event loop is busy (as the sidecar's is, reading QEMU's schema): the
   * commands and their end are there when the proxy accepts the connection, and Netty reads them
   * at once, whether the proxy reads the socket or not.
   */
  private LineSocket connectWhileTheLoopIsBusy(Path path) throws InterruptedException {
    CountDownLatch busy = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    vertx.runOnContext(v -> {
      busy.countDown();
      try {
        release.await(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertThat(busy.await(5, TimeUnit.SECONDS)).as("the event loop took the blocking task").isTrue();
    LineSocket c = new LineSocket(path);
    c.send(COMMANDS).shutdownOutput();
    Thread.sleep(100);
    release.countDown();
    return c;
  }

  @Test
  void clientsAreGreetedAtOnceAndTheirCommandsAreReadOnceQemusCommandsAreKnown() throws Exception {
    holdSchema("\"return\":" + SCHEMA);
    Path path = dir.resolve("vm.qmp");
    QmpProxyServer proxy = result(QmpProxyServer.start(vertx, upstream, gate, QmpProxyOptions.of(path)));
    try (LineSocket c = connectWhileTheLoopIsBusy(path)) {
      assertThat(c.json().has("QMP")).isTrue();
      Await.until("the proxy asks QEMU for its schema", () -> schemaAnswers.size() == 1);
      Thread.sleep(200);
      assertThat(c.drain()).as("answers before QEMU's commands are known").isEmpty();
      assertThat(decided).isEmpty();

      schemaAnswers.get(0).run();
      assertThat(c.json().path("id").asInt()).isEqualTo(1);
      JsonNode unknown = c.json();
      assertThat(unknown.path("id").asInt()).isEqualTo(2);
      assertThat(unknown.path("error").path("class").asText()).isEqualTo("CommandNotFound");
      assertThat(unknown.path("error").path("desc").asText())
          .isEqualTo("The command no-such-command has not been found");
      JsonNode status = c.json();
      assertThat(status.path("id").asInt()).isEqualTo(3);
      assertThat(status.has("return")).isTrue();
      assertThat(decided).containsExactly("query-status");
    } finally {
      result(proxy.close());
    }
  }

  @Test
  void whenQemusCommandsCannotBeReadTheClientsCommandsGoToThePolicy() throws Exception {
    holdSchema("\"error\":{\"class\":\"GenericError\",\"desc\":\"not now\"}");
    Path path = dir.resolve("vm.qmp");
    QmpProxyServer proxy = result(QmpProxyServer.start(vertx, upstream, gate, QmpProxyOptions.of(path)));
    try (LineSocket c = connectWhileTheLoopIsBusy(path)) {
      assertThat(c.json().has("QMP")).isTrue();
      Await.until("the proxy asks QEMU for its schema", () -> schemaAnswers.size() == 1);
      schemaAnswers.get(0).run();
      assertThat(c.json().path("id").asInt()).isEqualTo(1);
      assertThat(c.json().path("id").asInt()).isEqualTo(2);
      assertThat(c.json().path("id").asInt()).isEqualTo(3);
      assertThat(decided).containsExactly("no-such-command", "query-status");
    } finally {
      result(proxy.close());
    }
  }
}
