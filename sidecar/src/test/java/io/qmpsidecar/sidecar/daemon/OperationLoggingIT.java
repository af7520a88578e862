package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.testing.ApiTestClient;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import io.vertx.core.http.HttpMethod;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * Every log line of an operation names the operation, its caller and, for each QMP command it
 * sent, the command's QMP id: an attach and a detach without operation ids (the sidecar assigns
 * them) and a coordinated migration, on real QEMUs. A stand-in guest acknowledges the unplug
 * with system_reset, as nothing else does in qtest mode.
 */
class OperationLoggingIT {
  private static final String POLICY = """
      version: 1
      name: logging-test
      rules:
        - id: local
          effect: allow
          callers: ["api:local"]
          commands: ["*"]
          reason: the test may do anything
      default:
        effect: deny
        reason: not the test
      """;
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger operations = (Logger) LoggerFactory.getLogger("io.qmpsidecar.operations");
  private Level level;

  private void captureOperationLines() {
    level = operations.getLevel();
    operations.setLevel(Level.INFO);
    lines.start();
    operations.addAppender(lines);
    harness.track(() -> {
      operations.detachAppender(lines);
      operations.setLevel(level);
    });
  }

  /** The lines of {@code opId}, read under the appender's lock, which its doAppend holds. */
  private List<ILoggingEvent> of(String opId) {
    synchronized (lines) {
      return lines.list.stream().filter(e -> opId.equals(e.getMDCPropertyMap().get("op"))).toList();
    }
  }

  @QemuTest
  void everyLineOfAnOperationCarriesItsIdCallerAndQmpIds(QemuBinary binary) throws Exception {
    captureOperationLines();
    Path policy = Files.writeString(harness.dir().resolve("policy.yaml"), POLICY);
    TestConfig config = harness.config().vm("src", harness.qemu(binary, "src", 2))
        .vm("dst", harness.qemu(binary, "dst", 2, "-incoming", "defer")).policyFile(policy)
        .detachWait(Duration.ofMillis(200));
    Sidecar sidecar = harness.start(config);
    ApiTestClient client = harness.api(config);
    harness.standInGuest(sidecar, config);
    List<SidecarEvent> events = new CopyOnWriteArrayList<>();
    harness.track(sidecar.events().subscribe(e -> true, 1024, events::add)::cancel);
    Await.until("both VMs are connected", () -> client.call(HttpMethod.GET, "/v1/vms", null).body()
        .findValuesAsText("state").equals(List.of("ready", "ready")));

    ApiTestClient.Reply attached = client.call(HttpMethod.POST, "/v1/vms/src/devices",
        "{\"driver\":\"e1000e\",\"id\":\"nic1\"}");
    assertThat(attached.status()).as("%s", attached.body()).isEqualTo(201);
    String attachOp = attached.body().path("opId").asText();
    assertThat(attachOp).startsWith("attach-");
    assertThat(client.call(HttpMethod.DELETE, "/v1/vms/src/devices/nic1", null).status()).isIn(200, 202);
    Await.until("the unplug completes", () -> events.stream().anyMatch(e -> e.type().equals(EventTypes.DEVICE_DETACHED)));
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    assertThat(client.call(HttpMethod.POST, "/v1/vms/src/migrations", "{\"destination\":\"dst\",\"uri\":\"tcp:127.0.0.1:"
        + port + "\"}").status()).isEqualTo(202);
    Await.until("the migration completes", () -> "COMPLETED".equals(client.call(HttpMethod.GET, "/v1/vms/src/migration",
        null).body().path("state").asText()));

    assertOperation(attachOp, "src", EventTypes.ATTACH_REQUESTED, "device_add");
    String detachOp = events.stream().filter(e -> e.type().equals(EventTypes.DEVICE_DETACHED)).findFirst()
        .orElseThrow().opId();
    assertThat(detachOp).startsWith("detach-");
    assertOperation(detachOp, "src", EventTypes.DETACH_REQUESTED, "device_del");
    String migrateOp = events.stream().filter(e -> e.type().equals("migration.coordination")).findFirst()
        .orElseThrow().opId();
    assertThat(migrateOp).startsWith("migrate-");
    assertThat(events.stream().filter(e -> migrateOp.equals(e.opId())).map(SidecarEvent::vm)).contains("src", "dst");
    assertOperation(migrateOp, "src", "migration.coordination", "migrate");
    assertThat(of(migrateOp)).anySatisfy(e -> {
      assertThat(e.getMDCPropertyMap()).containsEntry("vm", "dst");
      assertThat(e.getFormattedMessage()).startsWith("qmp migrate-incoming returned");
    });
  }

  /** Every line of {@code opId} names its caller; each QMP line its QMP id; the step and the command are there. */
  private void assertOperation(String opId, String vm, String step, String command) {
    List<ILoggingEvent> op = of(opId);
    assertThat(op).allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry("caller", "api:local")
        .containsKey("vm"));
    assertThat(op).anySatisfy(e -> {
      assertThat(e.getMDCPropertyMap()).containsEntry("vm", vm);
      assertThat(e.getFormattedMessage()).startsWith(step + " ");
    });
    List<ILoggingEvent> qmp = op.stream().filter(e -> e.getFormattedMessage().startsWith("qmp ")).toList();
    assertThat(qmp).as("QMP lines of %s", opId).isNotEmpty()
        .allSatisfy(e -> assertThat(e.getMDCPropertyMap().get("qmp")).matches("\\d+"))
        .anySatisfy(e -> assertThat(e.getFormattedMessage()).startsWith("qmp " + command + " returned in "));
    assertThat(qmp.stream().map(e -> e.getMDCPropertyMap().get("vm") + "#" + e.getMDCPropertyMap().get("qmp")).distinct())
        .as("each command of a VM its own QMP id").hasSize(qmp.size());
  }
}
