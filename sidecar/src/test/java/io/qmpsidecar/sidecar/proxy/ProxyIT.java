package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
    ProxyTestClient c = new ProxyTestClient(net, proxy.socketPath());
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
      "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"/machine\",\"property\":\"nope\"},\"id\":12}");

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
      if (expected.at("/error/desc").asText().startsWith("JSON parse error, ")
          && !expected.at("/error/desc").asText().contains("duplicate key")) {
        // The lexer's own wording differs; the class, the prefix and the missing id do not.
        assertThat(actual.at("/error/class")).isEqualTo(expected.at("/error/class"));
        assertThat(actual.at("/error/desc").asText()).startsWith("JSON parse error, ");
        assertThat(actual.has("id")).isFalse();
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
        "{\"error\":{\"class\":\"GenericError\",\"desc\":\"denied by policy rule deny-quit:"
            + " only the local administrator may stop QEMU\"},\"id\":\"q\"}"));
    assertThat(s.call("{\"execute\":\"human-monitor-command\",\"arguments\":"
        + "{\"command-line\":\"info version\"},\"id\":2}").at("/error/desc").asText())
        .startsWith("denied by policy rule deny-hmp: ");
    assertThat(s.call("{\"execute\":\"query-status\",\"id\":3}").at("/return/status").asText())
        .isEqualTo("running");
    assertThat(qemu.isAlive()).isTrue();
    assertThat(audit).filteredOn(r -> r.effect() == Effect.DENY)
        .extracting(AuditRecord::caller, AuditRecord::command, AuditRecord::ruleId)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("proxy:client-1", "quit", "deny-quit"),
            org.assertj.core.groups.Tuple.tuple("proxy:client-1", "human-monitor-command",
                "deny-hmp"));
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
        // QEMU's error names the path: a reply shows whose command it answers.
        all.get(c).send("{\"execute\":\"qom-list\",\"arguments\":{\"path\":\"/c" + c + "-" + i
            + "\"},\"id\":\"c" + c + "-" + i + "\"}");
      }
    }
    for (int c = 0; c < clients; c++) {
      for (int i = 0; i < perClient; i++) {
        JsonNode reply = all.get(c).reply();
        assertThat(reply.get("id").asText()).isEqualTo("c" + c + "-" + i);
        assertThat(reply.at("/error/desc").asText()).contains("'/c" + c + "-" + i + "'");
      }
    }
    assertThat(upstream.inFlight()).isZero();
  }
}
