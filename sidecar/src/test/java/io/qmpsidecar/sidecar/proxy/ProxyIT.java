package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.policy.AuditRecord;
import io.qmpsidecar.policy.Effect;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The proxy in front of a real QEMU, driven by socat, go-qemu and many Vert.x clients at once.
 * QEMU gets a second, direct monitor so that the same lines can be sent to QEMU itself and
 * compared.
 */
class ProxyIT {
  /** The closed default preset's answer to what it does not list (quit is allowed to no caller but the administrator). */
  private static final String NOT_LISTED = "no rule allows this command with these arguments for this caller;"
      + " the default policy denies what it does not list";

  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();

  private QmpProxyServer start(QemuBinary binary, QmpProxyOptions options, Policy rules) {
    return fx.start(binary, options, rules);
  }

  private QmpProxyServer start(QemuBinary binary) {
    return fx.start(binary, fx.options(), Policies.preset("default"));
  }

  private Socat socat(Path path) {
    return fx.closeLater(new Socat(path));
  }

  private ProxyTestClient vertxClient() {
    return fx.vertxClient(fx.proxy.socketPath());
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @QemuTest
  void negotiationTextsAreQemus(QemuBinary binary) {
    start(binary);
    Socat s = socat(fx.proxy.socketPath());
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
  void aDeniedCommandNeverReachesQemuAndIsAuditedUnderTheCallersName(QemuBinary binary) {
    // Clients are named from their credentials: a rule names this test's user.
    start(binary, fx.options().withCallers(Map.of("uid:" + fx.uid(), "tester")),
        Policies.preset("default"));
    Socat s = socat(fx.proxy.socketPath());
    s.next();
    s.call("{\"execute\":\"qmp_capabilities\"}");
    assertThat(s.call("{\"execute\":\"quit\",\"id\":\"q\"}")).isEqualTo(json(
        "{\"error\":{\"class\":\"GenericError\",\"desc\":\"denied by policy rule default: " + NOT_LISTED
            + "\"},\"id\":\"q\"}"));
    assertThat(s.call("{\"execute\":\"human-monitor-command\",\"arguments\":"
        + "{\"command-line\":\"info version\"},\"id\":2}").at("/error/desc").asText())
        .isEqualTo("denied by policy rule default: " + NOT_LISTED);
    assertThat(s.call("{\"execute\":\"query-status\",\"id\":3}").at("/return/status").asText())
        .isEqualTo("running");
    assertThat(fx.qemu.isAlive()).isTrue();
    assertThat(fx.audit).filteredOn(r -> r.effect() == Effect.DENY)
        .extracting(AuditRecord::caller, AuditRecord::command, AuditRecord::ruleId)
        .containsExactly(Tuple.tuple("proxy:tester", "quit", "default"),
            Tuple.tuple("proxy:tester", "human-monitor-command", "default"));
    assertThat(fx.proxy.clients()).singleElement().satisfies(c -> {
      assertThat(c.caller()).isEqualTo("proxy:tester");
      assertThat(c.uid()).isEqualTo(fx.uid());
      assertThat(c.pid()).isPositive();
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
    Socat s = socat(fx.proxy.socketPath());
    s.next();
    s.call("{\"execute\":\"qmp_capabilities\"}");
    ProxyTestClient actor = clients.get(0);
    assertThat(actor.call("{\"execute\":\"stop\",\"id\":1}")).isEqualTo(json("{\"return\":{},\"id\":1}"));
    assertThat(actor.call("{\"execute\":\"cont\",\"id\":2}")).isEqualTo(json("{\"return\":{},\"id\":2}"));
    for (ProxyTestClient c : clients) {
      assertThat(c.event().get("event").asText()).isEqualTo("STOP");
      assertThat(c.event().get("event").asText()).isEqualTo("RESUME");
    }
    assertThat(List.of(s.next().get("event").asText(), s.next().get("event").asText()))
        .containsExactly("STOP", "RESUME");
  }

  @QemuTest
  void manyClientsPipelineAndGetExactlyTheirOwnReplies(QemuBinary binary) {
    // All of them are this test's user, one caller: the default preset's rate limit would refuse.
    start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
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
    assertThat(fx.upstream.inFlight()).isZero();
  }

  @QemuTest
  void goQemusClientWorksThroughTheProxy(QemuBinary binary) throws Exception {
    start(binary);
    Path go = GoQmpClient.build(fx.dir());
    List<String> lines = GoQmpClient.runAgainst(go, fx.proxy.socketPath()).lines().toList();
    assertThat(lines.get(0)).startsWith("version " + binary.version() + " Debian");
    // go-qemu hands over the reply's bytes: QEMU's own.
    assertThat(lines.get(1)).startsWith("status {\"return\": {\"status\": \"running\"");
    assertThat(lines.get(2)).isEqualTo("quit error: denied by policy rule default: " + NOT_LISTED);
    assertThat(lines.subList(3, lines.size())).containsExactly(
        "unknown error: The command no-such-command has not been found",
        "stop {\"return\": {}}", "cont {\"return\": {}}", "event STOP", "event RESUME");
    assertThat(fx.qemu.isAlive()).isTrue();
  }

  @QemuTest
  void execOobPassesThroughForClientsThatNegotiatedIt(QemuBinary binary) {
    start(binary, fx.options(), ProxyFixture.ALLOW_ALL);
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

  /** docs/proxy.md: under the default preset, query-yank runs out of band; the migration ones are denied. */
  @QemuTest
  void theDefaultPresetLetsQueryYankRunOutOfBandAndDeniesMigratePause(QemuBinary binary) {
    start(binary, fx.options(), Policies.preset("default"));
    ProxyTestClient withOob = vertxClient();
    withOob.negotiate(",\"arguments\":{\"enable\":[\"oob\"]}");

    JsonNode yank = withOob.call("{\"exec-oob\":\"query-yank\",\"id\":1}");
    JsonNode pause = withOob.call("{\"exec-oob\":\"migrate-pause\",\"id\":2}");

    assertThat(yank.get("return").isArray()).as(yank.toString()).isTrue();
    assertThat(pause.at("/error/desc").asText()).as(pause.toString()).startsWith("denied by policy rule ");
  }

  @QemuTest
  void theClientOverTheLimitIsToldAndDisconnected(QemuBinary binary) {
    start(binary, fx.options().withMaxClients(2), Policies.preset("default"));
    ProxyTestClient first = vertxClient();
    first.negotiate("");
    vertxClient().negotiate("");
    ProxyTestClient third = vertxClient();
    assertThat(third.reply().at("/error/desc").asText()).isEqualTo("qmp-sidecar proxy: too many"
        + " clients (2 connected, the limit): close another client or raise the proxy's"
        + " maxClients");
    Await.until("the third client is disconnected", third::isClosed);
    assertThat(fx.proxy.rejectedClients()).isEqualTo(1);

    first.close();
    Await.until("the first client is gone", () -> fx.proxy.clients().size() == 1);
    ProxyTestClient fourth = vertxClient();
    assertThat(fourth.negotiate("").at("/QMP/version/qemu/major").asInt())
        .isEqualTo(binary.major());
  }
}
