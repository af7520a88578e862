package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy in front of a real QEMU, driven by socat and by many Vert.x clients at once. QEMU
 * gets a second, direct monitor so that the same lines can be sent to QEMU itself and compared.
 */
class ProxyIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static Vertx vertx;
  private static NetClient net;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private final List<AuditRecord> audit = new CopyOnWriteArrayList<>();
  private QemuProcess qemu;
  private QmpClient client;
  private QmpConnection upstream;
  private QmpProxyServer proxy;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
    net = vertx.createNetClient();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void tearDown() throws Exception {
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

  private Path direct() {
    return dir.resolve("direct.qmp");
  }

  private static final Policy ALLOW_ALL = Policies.parse("version: 1\nname: allow-all\nrules:\n"
      + "  - {id: all, effect: allow, callers: ['proxy:*'], commands: ['*']}\n", "test", false);

  private QmpProxyServer start(QemuBinary binary, QmpProxyOptions options) {
    return start(binary, options, Policies.preset("default"));
  }

  private QmpProxyServer start(QemuBinary binary, QmpProxyOptions options, Policy rules) {
    qemu = QemuProcess.startQtest(binary, dir, "vm", 1,
        "-qmp", "unix:" + direct() + ",server=on,wait=off");
    // QEMU opens its monitors in order: once the second exists, the first listens.
    Await.until("QEMU's second monitor is open", () -> Files.exists(direct()));
    client = QmpClient.create(vertx, QmpClientOptions.of(qemu.qmpAddress()));
    upstream = result(client.connect());
    PolicyEngine policy = new PolicyEngine(rules, audit::add,
        Clock.systemUTC());
    proxy = result(QmpProxyServer.start(vertx, upstream, policy, options));
    return proxy;
  }

  private QmpProxyServer start(QemuBinary binary) {
    return start(binary, QmpProxyOptions.of(dir.resolve("proxy.qmp")));
  }

  private Socat socat(Path path) {
    Socat s = new Socat(path);
    cleanup.add(s);
    return s;
  }

  private ProxyTestClient vertxClient() {
    ProxyTestClient c = new ProxyTestClient(vertx, net, proxy.socketPath());
    cleanup.add(c);
    return c;
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Lines whose answers do not depend on time or on earlier commands of other clients. */
  private static final List<String> SCRIPT = List.of(
      "{\"execute\":\"query-status\",\"id\":\"early\"}",
      "garbage",
      "[1]",
      "{\"exec-oob\":\"query-status\",\"id\":1}",
      "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"bogus\"]},\"id\":2}",
      "{\"execute\":\"qmp_capabilities\",\"id\":{\"x\":[1]}}",
      "{\"execute\":\"qmp_capabilities\",\"id\":3}",
      "{\"execute\":\"query-status\",\"id\":[4,\"x\"]}",
      "{\"execute\":\"query-status\"}",
      "{'execute':'query-name','id':'single-quoted'}",
      "{\"execute\":\"nosuch\",\"id\":5}",
      "{\"execute\":\"query-status\",\"arguments\":[],\"id\":6}",
      "{\"execute\":\"query-status\",\"foo\":1,\"id\":7}",
      "{\"execute\":\"query-status\",\"id\":8,\"id\":9}",
      "{\"id\":10}",
      "{\"execute\":5,\"id\":11}",
      "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"property\":\"nope\"},\"id\":12}",
      "{\"execute\":\"query-name\",\"id\":\"a}[\\\"\"}  ",
      "{\"execute\":\"query-status\",\"id\":13}{\"execute\":\"query-name\",\"id\":14}");

  @QemuTest
  void socatGetsWhatQemuItselfAnswers(QemuBinary binary) {
    // Every command is allowed here: the answers must be QEMU's own, unknown commands included.
    start(binary, QmpProxyOptions.of(dir.resolve("proxy.qmp")), ALLOW_ALL);
    Socat viaProxy = socat(proxy.socketPath());
    Socat toQemu = socat(direct());
    JsonNode greeting = viaProxy.next();
    assertThat(greeting).isEqualTo(toQemu.next());
    assertThat(greeting.at("/QMP/version/package").asText()).startsWith("Debian");
    assertThat(greeting.at("/QMP/capabilities")).isEqualTo(json("[\"oob\"]"));
    for (String line : SCRIPT) {
      JsonNode expected = toQemu.call(line);
      JsonNode actual = viaProxy.call(line);
      if (line.contains("}{")) {
        assertThat(viaProxy.next()).isEqualTo(toQemu.next());
      }
      // QEMU 11.1 puts the line and column before a parse error ("2:1: JSON parse error, …");
      // the proxy answers parse errors itself, without them (docs/proxy.md).
      String expectedDesc = expected.at("/error/desc").asText().replaceFirst("^\\d+:\\d+: ", "");
      if (expectedDesc.startsWith("JSON parse error, ") && !expectedDesc.contains("duplicate key")) {
        // The lexer's own wording differs; the class, the prefix and the missing id do not.
        assertThat(actual.at("/error/class")).isEqualTo(expected.at("/error/class"));
        assertThat(actual.at("/error/desc").asText()).startsWith("JSON parse error, ");
        assertThat(actual.has("id")).isFalse();
      } else if (expectedDesc.startsWith("JSON parse error, ")) {
        JsonNode withoutPosition = expected.deepCopy();
        ((ObjectNode) withoutPosition.get("error")).put("desc", expectedDesc);
        assertThat(actual).as("answer to %s", line).isEqualTo(withoutPosition);
      } else {
        assertThat(actual).as("answer to %s", line).isEqualTo(expected);
      }
    }
    assertThat(viaProxy.finish()).isZero();
    assertThat(viaProxy.unread()).isZero();
  }

  @QemuTest
  void negotiationTextsAreQemus(QemuBinary binary) {
    start(binary);
    Socat s = socat(proxy.socketPath());
    s.next();
    assertThat(s.call("{\"execute\":\"query-status\",\"id\":1}")).isEqualTo(json(
        "{\"id\":1,\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Expecting capabilities"
            + " negotiation with 'qmp_capabilities'\"}}"));
    assertThat(s.call("{\"execute\":\"qmp_capabilities\",\"id\":2}"))
        .isEqualTo(json("{\"return\":{},\"id\":2}"));
    assertThat(s.call("{\"execute\":\"qmp_capabilities\",\"id\":3}")).isEqualTo(json(
        "{\"id\":3,\"error\":{\"class\":\"CommandNotFound\",\"desc\":\"Capabilities negotiation"
            + " is already complete, command ignored\"}}"));
  }

  @QemuTest
  void aDeniedCommandNeverReachesQemu(QemuBinary binary) {
    start(binary);
    Socat s = socat(proxy.socketPath());
    s.next();
    s.call("{\"execute\":\"qmp_capabilities\"}");
    assertThat(s.call("{\"execute\":\"quit\",\"id\":\"q\"}")).isEqualTo(json(
        "{\"error\":{\"class\":\"GenericError\",\"desc\":\"denied by policy rule default:"
            + " no rule allows this command with these arguments for this caller; the default policy"
            + " denies what it does not list\"},\"id\":\"q\"}"));
    assertThat(s.call("{\"execute\":\"human-monitor-command\",\"arguments\":"
        + "{\"command-line\":\"info version\"},\"id\":2}").at("/error/desc").asText())
        .startsWith("denied by policy rule default: ");
    assertThat(s.call("{\"execute\":\"query-status\",\"id\":3}").at("/return/status").asText())
        .isEqualTo("running");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(audit).filteredOn(r -> r.effect() == Effect.DENY)
        .extracting(AuditRecord::caller, AuditRecord::command, AuditRecord::ruleId)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("proxy:client-1", "quit", "default"),
            org.assertj.core.groups.Tuple.tuple("proxy:client-1", "human-monitor-command",
                "default"));
    assertThat(proxy.clients()).singleElement().satisfies(c -> {
      assertThat(c.denied()).isEqualTo(2);
      assertThat(c.commands()).isEqualTo(1);
    });
  }

  @QemuTest
  void eventsReachEveryClient(QemuBinary binary) {
    start(binary);
    List<ProxyTestClient> clients = new ArrayList<>();
    for (int i = 0; i < 21; i++) {
      ProxyTestClient c = vertxClient();
      c.negotiate("");
      clients.add(c);
    }
    Socat s = socat(proxy.socketPath());
    s.next();
    s.call("{\"execute\":\"qmp_capabilities\"}");
    ProxyTestClient actor = clients.get(0);
    assertThat(actor.call("{\"execute\":\"stop\",\"id\":1}")).isEqualTo(json("{\"return\":{},\"id\":1}"));
    assertThat(actor.call("{\"execute\":\"cont\",\"id\":2}")).isEqualTo(json("{\"return\":{},\"id\":2}"));
    for (ProxyTestClient c : clients) {
      assertThat(c.event().get("event").asText()).isEqualTo("STOP");
      assertThat(c.event().get("event").asText()).isEqualTo("RESUME");
    }
    List<String> socatLines = new ArrayList<>();
    socatLines.add(s.next().get("event").asText());
    socatLines.add(s.next().get("event").asText());
    assertThat(socatLines).containsExactly("STOP", "RESUME");
  }

  @QemuTest
  void manyClientsPipelineAndGetExactlyTheirOwnReplies(QemuBinary binary) {
    start(binary);
    int clients = 24;
    int perClient = 40;
    List<ProxyTestClient> all = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      ProxyTestClient client = vertxClient();
      client.negotiate("");
      all.add(client);
    }
    for (int i = 0; i < perClient; i++) {
      for (int c = 0; c < clients; c++) {
        // QEMU's error names the path: a reply shows whose command it answers. The default
        // preset lets qom-list read only under /machine/peripheral.
        all.get(c).send("{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/machine/peripheral/c" + c + "-" + i
            + "\"},\"id\":\"c" + c + "-" + i + "\"}");
      }
    }
    for (int c = 0; c < clients; c++) {
      for (int i = 0; i < perClient; i++) {
        JsonNode reply = all.get(c).reply();
        assertThat(reply.get("id").asText()).isEqualTo("c" + c + "-" + i);
        assertThat(reply.at("/error/desc").asText()).contains("/c" + c + "-" + i + "'");
      }
    }
    assertThat(upstream.inFlight()).isZero();
  }

  @QemuTest
  void goQemusClientWorksThroughTheProxy(QemuBinary binary) throws Exception {
    start(binary);
    Path go = GoQmpClient.build(dir);
    List<String> lines = GoQmpClient.runAgainst(go, proxy.socketPath()).lines().toList();
    assertThat(lines.get(0)).startsWith("version " + binary.version() + " Debian");
    assertThat(lines.get(1)).startsWith("status ").contains("\"status\":\"running\"");
    assertThat(lines.get(2)).isEqualTo("quit error: denied by policy rule default: no rule allows"
        + " this command with these arguments for this caller; the default policy denies what it does"
        + " not list");
    assertThat(lines.subList(3, lines.size()))
        .containsExactly("stop {\"return\":{}}", "cont {\"return\":{}}", "event STOP", "event RESUME");
    assertThat(qemu.isAlive()).isTrue();
  }

  @QemuTest
  void execOobPassesThroughForClientsThatNegotiatedIt(QemuBinary binary) {
    start(binary, QmpProxyOptions.of(dir.resolve("proxy.qmp")), ALLOW_ALL);
    ProxyTestClient withOob = vertxClient();
    withOob.negotiate(",\"arguments\":{\"enable\":[\"oob\"]}");
    // migrate-pause allows OOB: QEMU itself runs it and refuses it outside postcopy.
    JsonNode pause = withOob.call("{\"exec-oob\":\"migrate-pause\",\"id\":\"p\"}");
    assertThat(pause.get("id").asText()).isEqualTo("p");
    assertThat(pause.at("/error/desc").asText())
        .startsWith("migrate-pause is currently only supported during postcopy-active");
    assertThat(withOob.call("{\"exec-oob\":\"query-status\",\"id\":2}")).isEqualTo(json(
        "{\"id\":2,\"error\":{\"class\":\"GenericError\",\"desc\":\"The command query-status"
            + " does not support OOB\"}}"));

    ProxyTestClient inBand = vertxClient();
    inBand.negotiate("");
    assertThat(inBand.call("{\"exec-oob\":\"migrate-pause\",\"id\":3}")).isEqualTo(json(
        "{\"id\":3,\"error\":{\"class\":\"GenericError\",\"desc\":\"QMP input member"
            + " 'exec-oob' is unexpected\"}}"));
  }

  @QemuTest
  void theClientOverTheLimitIsToldAndDisconnected(QemuBinary binary) {
    start(binary, QmpProxyOptions.of(dir.resolve("proxy.qmp")).withMaxClients(2));
    ProxyTestClient first = vertxClient();
    first.negotiate("");
    vertxClient().negotiate("");
    ProxyTestClient third = vertxClient();
    assertThat(third.reply().at("/error/desc").asText()).isEqualTo("qmp-sidecar proxy: too many"
        + " clients (2 connected, the limit): close another client or raise the proxy's"
        + " maxClients");
    Await.until("the third client is disconnected", third::isClosed);
    assertThat(proxy.rejectedClients()).isEqualTo(1);

    first.close();
    Await.until("the first client is gone", () -> proxy.clients().size() == 1);
    ProxyTestClient fourth = vertxClient();
    assertThat(fourth.negotiate("").at("/QMP/version/qemu/major").asInt())
        .isEqualTo(binary.major());
  }

  @QemuTest
  void aClientThatStopsReadingDoesNotHoldUpTheOthers(QemuBinary binary) throws Exception {
    // The default preset's rate limit (100/s per proxy caller) would refuse this many commands.
    start(binary, QmpProxyOptions.of(dir.resolve("proxy.qmp")).withEventQueueCapacity(16),
        ALLOW_ALL);
    // A raw client that negotiates and then never reads: its socket buffers fill up.
    java.nio.channels.SocketChannel slow = java.nio.channels.SocketChannel.open(
        java.net.UnixDomainSocketAddress.of(proxy.socketPath()));
    cleanup.add(slow);
    slow.write(java.nio.ByteBuffer.wrap(
        "{\"execute\":\"qmp_capabilities\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Await.until("the slow client negotiated",
        () -> proxy.clients().stream().anyMatch(ProxyClientStats::negotiated));
    List<ProxyTestClient> watchers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ProxyTestClient w = vertxClient();
      w.negotiate("");
      watchers.add(w);
    }
    ProxyTestClient actor = vertxClient();
    actor.negotiate("");
    // Enough STOP/RESUME lines to fill the slow client's socket and its event queue many times.
    int pairs = 3000;
    for (int i = 0; i < pairs; i++) {
      actor.send("{\"execute\":\"stop\",\"id\":" + (2 * i) + "}");
      actor.send("{\"execute\":\"cont\",\"id\":" + (2 * i + 1) + "}");
    }
    for (int i = 0; i < 2 * pairs; i++) {
      assertThat(actor.reply()).isEqualTo(json("{\"return\":{},\"id\":" + i + "}"));
    }
    for (ProxyTestClient w : watchers) {
      List<JsonNode> seen = new ArrayList<>();
      Await.until("a watcher sees every event", () -> {
        seen.addAll(w.drainEvents());
        return seen.size() >= 2 * pairs;
      });
      assertThat(seen).hasSize(2 * pairs);
      assertThat(seen.get(0).get("event").asText()).isEqualTo("STOP");
      assertThat(seen.get(2 * pairs - 1).get("event").asText()).isEqualTo("RESUME");
    }
    ProxyClientStats slowStats = proxy.clients().stream()
        .filter(c -> c.caller().equals("proxy:client-1")).findFirst().orElseThrow();
    assertThat(slowStats.eventsDropped()).isPositive();
    // Every event was written to it, dropped, or still waits in its full queue of 16.
    assertThat(slowStats.eventsDelivered() + slowStats.eventsDropped()).isEqualTo(2L * pairs - 16);
    assertThat(proxy.clients()).filteredOn(c -> !c.caller().equals("proxy:client-1"))
        .allSatisfy(c -> assertThat(c.eventsDropped()).isZero());
  }
}
