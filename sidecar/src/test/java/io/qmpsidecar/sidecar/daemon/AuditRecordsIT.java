package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Every audit record of an action on a VM names the VM and the operation, as JSON lines written
 * by the audit file's encoder and parsed back: a migration's cancel (the migration's operation
 * id), a live update (here denied), a passthrough through the API and through the QMP proxy, and
 * an automation rule's action (its decision, its outcome line and its event share one id).
 */
class AuditRecordsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String POLICY = """
      version: 1
      name: audit-records
      rules:
        - {id: no-live-update, effect: deny, callers: ["api:local"], via: [live-update], commands: [migrate], reason: not in this test}
        - {id: all, effect: allow, callers: ["*"], commands: ["*"], reason: the test}
      default: {effect: deny, reason: not the test}
      automation:
        - {id: query-on-stop, event: STOP, run: {execute: query-status}, cooldown: 0s}
      """;
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  /** The audit logger's records, each encoded as the audit file's line and parsed back. */
  private final List<JsonNode> records = new CopyOnWriteArrayList<>();

  private void captureAudit() {
    Logger audit = (Logger) LoggerFactory.getLogger(LogConfigurator.AUDIT_LOGGER);
    JsonLineEncoder encoder = new JsonLineEncoder();
    encoder.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    encoder.start();
    AppenderBase<ILoggingEvent> lines = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent e) {
        try {
          records.add(JSON.readTree(encoder.encode(e)));
        } catch (IOException ex) {
          throw new IllegalStateException("an audit line that is not JSON", ex);
        }
      }
    };
    lines.start();
    Level level = audit.getLevel();
    audit.setLevel(Level.INFO);
    audit.addAppender(lines);
    harness.track(() -> {
      audit.detachAppender(lines);
      audit.setLevel(level);
    });
  }

  private JsonNode record(String what, Predicate<JsonNode> kv) {
    Await.until(what, () -> records.stream().map(r -> r.path("kv")).anyMatch(kv));
    return records.stream().map(r -> r.path("kv")).filter(kv).findFirst().orElseThrow();
  }

  private static Predicate<JsonNode> of(String caller, String command) {
    return kv -> kv.path("caller").asText().equals(caller) && kv.path("command").asText().equals(command)
        && kv.has("effect");
  }

  @QemuTest
  void everyActionOnAVmIsAuditedWithItsVmAndOperation(QemuBinary binary) throws Exception {
    captureAudit();
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), POLICY);
    TestConfig config = harness.config().vm("src", harness.qemu(binary, "src", 1))
        .vm("dst", harness.qemu(binary, "dst", 1, "-incoming", "defer")).policyFile(policy);
    Sidecar sidecar = harness.startReady(config);
    List<SidecarEvent> events = new CopyOnWriteArrayList<>();
    harness.track(sidecar.events().subscribe(e -> true, 1024, events::add)::cancel);
    ApiTestClient api = harness.api(config);

    // A passthrough through the API, and the automation rule its STOP fires.
    assertThat(api.call(HttpMethod.POST, "/v1/vms/src/qmp", "{\"execute\":\"stop\"}").status()).isEqualTo(200);
    JsonNode stop = record("the passthrough's record", of("api:local", "stop"));
    assertThat(stop.path("vm").asText()).isEqualTo("src");
    assertThat(stop.path("opId").asText()).startsWith("qmp-");
    JsonNode rule = record("the rule's decision", of("rule:query-on-stop", "query-status"));
    assertThat(rule.path("vm").asText()).isEqualTo("src");
    String ruleOp = rule.path("opId").asText();
    assertThat(ruleOp).startsWith("rule-");
    JsonNode outcome = record("the rule's outcome", kv -> kv.path("outcome").asText().equals("ran"));
    assertThat(outcome.path("vm").asText()).isEqualTo("src");
    assertThat(outcome.path("opId").asText()).isEqualTo(ruleOp);
    Await.until("the automation.ran event", () -> events.stream().anyMatch(e -> e.type().equals("automation.ran")));
    assertThat(events.stream().filter(e -> e.type().equals("automation.ran")).findFirst().orElseThrow().opId())
        .isEqualTo(ruleOp);
    assertThat(api.call(HttpMethod.POST, "/v1/vms/src/qmp", "{\"execute\":\"cont\"}").status()).isEqualTo(200);

    // A command through the VM's QMP proxy socket.
    String proxied = CompletableFuture.supplyAsync(() -> proxyQueryName(config.proxyDir().resolve("src.qmp")))
        .get(20, TimeUnit.SECONDS);
    assertThat(proxied).contains("\"return\"");
    JsonNode proxy = record("the proxied command's record",
        kv -> kv.path("caller").asText().startsWith("proxy:") && kv.path("command").asText().equals("query-name"));
    assertThat(proxy.path("vm").asText()).isEqualTo("src");
    assertThat(proxy.path("opId").asText()).startsWith("qmp-").isNotEqualTo(stop.path("opId").asText());

    // A live update, denied here: the denial names the VM and the update's operation.
    assertThat(api.call(HttpMethod.POST, "/v1/vms/src/live-update", "").status()).isEqualTo(403);
    JsonNode update = record("the live update's record",
        kv -> of("api:local", "migrate").test(kv) && kv.path("rule").asText().equals("no-live-update"));
    assertThat(update.path("effect").asText()).isEqualTo("deny");
    assertThat(update.path("vm").asText()).isEqualTo("src");
    assertThat(update.path("opId").asText()).startsWith("live-update-");

    // A migration, then its cancel: the cancel carries the migration's operation id.
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    assertThat(api.call(HttpMethod.POST, "/v1/vms/src/migrations", "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:"
        + port + "\"}").status()).isEqualTo(202);
    JsonNode migrate = record("the migration's record",
        kv -> of("api:local", "migrate").test(kv) && kv.path("rule").asText().equals("all"));
    assertThat(migrate.path("vm").asText()).isEqualTo("src");
    String migrateOp = migrate.path("opId").asText();
    assertThat(migrateOp).startsWith("migrate-");
    Await.until("the migration ends", () -> api.call(HttpMethod.GET, "/v1/vms/src/migration", null).body()
        .path("state").asText().matches("COMPLETED|FAILED|ROLLED_BACK"));
    api.call(HttpMethod.DELETE, "/v1/vms/src/migration", null);
    JsonNode cancel = record("the cancel's record", of("api:local", "migrate_cancel"));
    assertThat(cancel.path("vm").asText()).isEqualTo("src");
    assertThat(cancel.path("opId").asText()).isEqualTo(migrateOp);
  }

  /** Negotiates on the proxy socket and sends one {@code query-name}; its answer line. */
  private static String proxyQueryName(Path socket) {
    try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
      BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
          StandardCharsets.UTF_8));
      OutputStream out = Channels.newOutputStream(channel);
      assertThat(in.readLine()).contains("\"QMP\"");
      out.write("{\"execute\":\"qmp_capabilities\"}\n".getBytes(StandardCharsets.UTF_8));
      assertThat(in.readLine()).contains("\"return\"");
      out.write("{\"execute\":\"query-name\",\"id\":\"a\"}\n".getBytes(StandardCharsets.UTF_8));
      String line = in.readLine();
      while (line != null && line.contains("\"event\"")) {
        line = in.readLine();
      }
      return String.valueOf(line);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
