package io.qmpsidecar.qmp;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The client against a real QEMU in qtest mode, once per QEMU version set up by scripts/setup. */
class QmpClientIT {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static Vertx vertx;

  @TempDir Path dir;
  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private QmpClient client;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @AfterEach
  void tearDown() throws Exception {
    if (client != null) {
      result(client.close());
    }
    for (AutoCloseable c : cleanup) {
      c.close();
    }
  }

  private QemuProcess qemu(QemuBinary binary, String name, String... extra) {
    QemuProcess q = QemuProcess.startQtest(binary, dir, name, 2, extra);
    cleanup.add(q);
    return q;
  }

  private QmpConnection connect(QemuProcess q) {
    return connect(QmpClientOptions.of(q.qmpAddress()));
  }

  private QmpConnection connect(QmpClientOptions options) {
    client = QmpClient.create(vertx, options);
    return result(client.connect());
  }

  @QemuTest
  void negotiatesOobAndReportsTheVersion(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    assertThat(c.state()).isEqualTo(QmpState.READY);
    assertThat(c.greeting().version().toString()).isEqualTo(binary.version());
    assertThat(c.oobEnabled()).isTrue();
    assertThat(result(c.queryVersion()).toString()).isEqualTo(binary.version());
    assertThat(result(c.queryStatus()).running()).isTrue();
  }

  /**
   * Vert.x closes the sockets of a client nobody references once a collection finds it, at once
   * for a plain socket. A caller that keeps only the connection ({@code QmpClient.create(...).connect()})
   * must find it open all the same.
   */
  @QemuTest
  void aConnectionWhoseClientNobodyKeepsSurvivesACollection(QemuBinary binary) throws InterruptedException {
    QmpConnection c = connectWithAClientNobodyKeeps(qemu(binary, "vm"));
    cleanup.add(() -> result(c.close()));
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(40);
    }
    assertThat(result(c.queryStatus()).running()).isTrue();
    assertThat(c.state()).isEqualTo(QmpState.READY);
  }

  private static QmpConnection connectWithAClientNobodyKeeps(QemuProcess q) {
    return result(QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress())).connect());
  }

  @QemuTest
  void oobCanBeRefused(QemuBinary binary) {
    QmpConnection c = connect(QmpClientOptions.of(qemu(binary, "vm").qmpAddress()).withEnableOob(false));
    assertThat(c.oobEnabled()).isFalse();
    assertThat(failure(c.executeOob(QmpCommands.queryStatus())))
        .isInstanceOf(QmpConnectionException.class).hasMessageContaining("oob is not negotiated");
  }

  @QemuTest
  void tenThousandPipelinedCommandsReachTheirCallers(QemuBinary binary) {
    int n = 10_000;
    // All are issued at once: the waiting queue must hold them (its default bound is 1024). Each
    // command's timeout runs from its submission, and QEMU answers them one by one: on a loaded
    // machine the last reply comes well after the default 10 s, so the test allows minutes; it
    // checks that each reply reaches its own caller, not how fast.
    QmpConnection c = connect(QmpClientOptions.of(qemu(binary, "vm").qmpAddress()).withMaxQueuedCommands(n)
        .withCommandTimeout(Duration.ofMinutes(3)));
    List<Future<?>> futures = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      // QEMU's error text echoes the path: each caller can tell its own reply from the others'.
      futures.add(i % 3 == 0 ? c.queryStatus() : c.qomList("/no-such-object-" + i));
    }
    for (int i = 0; i < n; i++) {
      if (i % 3 == 0) {
        assertThat(result(futures.get(i), Duration.ofMinutes(3))).isInstanceOf(VmStatus.class);
      } else {
        assertThat(failure(futures.get(i))).isInstanceOf(QmpCommandException.class)
            .hasMessageContaining("'/no-such-object-" + i + "'");
      }
    }
    assertThat(c.inFlight()).isZero();
  }

  @QemuTest
  void stopAndContEmitStopAndResume(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    List<String> seen = new CopyOnWriteArrayList<>();
    QmpSubscription sub = c.subscribe(EventFilter.names("STOP", "RESUME"), e -> seen.add(e.name()));
    result(c.stop());
    assertThat(result(c.queryStatus()).status()).isEqualTo("paused");
    result(c.cont());
    Await.until("STOP and RESUME arrive", () -> seen.size() == 2);
    assertThat(seen).containsExactly("STOP", "RESUME");
    assertThat(sub.delivered()).isEqualTo(2);
    assertThat(sub.dropped()).isZero();
  }

  @QemuTest
  void deviceAddOntoARootPortShowsInQueryPci(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    // SeaBIOS runs under TCG in this mode and numbers the root ports' buses a few ms after
    // start; until then query-pci cannot list what sits behind a root port.
    Await.until("firmware numbered rp1's bus", () -> rootPort(c, "rp1").secondaryBus() > 0);
    result(c.deviceAdd(JSON.objectNode().put("driver", "e1000e").put("id", "nic1").put("bus", "rp1")));
    // SeaBIOS may be scanning the buses again at that moment (it gives a port bus 255 meanwhile,
    // and query-pci lists the device under no port for a few ms), as the sidecar's attach allows.
    Await.until("nic1 is listed behind rp1", () -> rootPort(c, "rp1").children().stream()
        .anyMatch(d -> "nic1".equals(d.qdevId())));
    PciDevice port = rootPort(c, "rp1");
    assertThat(port.children()).extracting(PciDevice::qdevId).containsExactly("nic1");
    PciDevice nic = port.children().get(0);
    assertThat(nic.vendorId()).isEqualTo(0x8086);
    assertThat(nic.bus()).isEqualTo(port.secondaryBus());
    assertThat(result(c.qomGet("/machine/peripheral/nic1", "realized")).asBoolean()).isTrue();
  }

  private static PciDevice rootPort(QmpConnection c, String id) {
    return result(c.queryPci()).stream().filter(d -> d.qdevId().equals(id)).findFirst().orElseThrow();
  }

  @QemuTest
  void deviceDelIsPendingUntilResetCompletesIt(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    result(c.deviceAdd(JSON.objectNode().put("driver", "e1000e").put("id", "nic1").put("bus", "rp1")));
    // Nothing acknowledges the unplug in qtest mode: pending, not failed.
    assertThat(result(c.deviceDel("nic1", Duration.ofMillis(300)))).isEqualTo(UnplugOutcome.PENDING);

    result(c.deviceAdd(JSON.objectNode().put("driver", "e1000e").put("id", "nic2").put("bus", "rp2")));
    Future<UnplugOutcome> unplug = c.deviceDel("nic2", Duration.ofSeconds(10));
    result(c.systemReset());
    assertThat(result(unplug)).isEqualTo(UnplugOutcome.DELETED);
    assertThat(result(c.qomList("/machine/peripheral"))).extracting(ObjectProperty::name).doesNotContain("nic2");
  }

  @QemuTest
  void anObservedViewReportsEachOfItsCommandsWithTheIdItWentOutWith(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    record Seen(String name, long id, Throwable failure) {}
    List<Seen> seen = new CopyOnWriteArrayList<>();
    QmpConnection view = c.observedBy((name, id, nanos, failure) -> {
      assertThat(nanos).isPositive();
      seen.add(new Seen(name, id, failure));
    });
    assertThat(result(view.queryStatus()).running()).isTrue();
    result(c.queryStatus());
    assertThat(failure(view.deviceDel("ghost", Duration.ofSeconds(1)))).isInstanceOf(QmpCommandException.class);
    result(c.close());
    assertThat(failure(view.queryStatus())).isInstanceOf(QmpConnectionException.class);

    assertThat(seen).extracting(Seen::name).containsExactly("query-status", "device_del", "query-status");
    // The unobserved command between them took an id of its own.
    assertThat(seen.get(1).id()).isEqualTo(seen.get(0).id() + 2);
    assertThat(seen.get(0).failure()).isNull();
    assertThat(seen.get(1).failure()).isInstanceOfSatisfying(QmpCommandException.class,
        e -> assertThat(e.errorClass()).isEqualTo("DeviceNotFound"));
    assertThat(seen.get(2).id()).as("never sent").isEqualTo(-1);
  }

  @QemuTest
  void aViewOfAViewReportsToBothObserversTheEarlierFirst(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    List<String> seen = new CopyOnWriteArrayList<>();
    QmpConnection outer = c.observedBy((name, id, nanos, failure) -> seen.add("first " + name))
        .observedBy((name, id, nanos, failure) -> seen.add("second " + name));
    result(outer.queryStatus());
    assertThat(failure(outer.deviceDel("ghost", Duration.ofSeconds(1)))).isInstanceOf(QmpCommandException.class);
    assertThat(seen).containsExactly("first query-status", "second query-status", "first device_del",
        "second device_del");
  }

  @QemuTest
  void deviceDelOfAnUnknownDeviceKeepsQemusError(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    assertThat(failure(c.deviceDel("ghost", Duration.ofSeconds(1))))
        .isInstanceOfSatisfying(QmpCommandException.class, e -> {
          assertThat(e.errorClass()).isEqualTo("DeviceNotFound");
          assertThat(e.description()).contains("ghost");
        });
  }

  @QemuTest
  void vfioWithAMissingHostDeviceFailsWithQemusText(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    ObjectNode vfio = JSON.objectNode().put("driver", "vfio-pci").put("host", "0000:03:00.1")
        .put("id", "dpu-vf1").put("bus", "rp1");
    assertThat(failure(c.deviceAdd(vfio))).isInstanceOfSatisfying(QmpCommandException.class, e -> {
      assertThat(e.command()).isEqualTo("device_add");
      assertThat(e.errorClass()).isEqualTo("GenericError");
      assertThat(e.description())
          .contains("vfio /sys/bus/pci/devices/0000:03:00.1: no such host device");
    });
  }

  @QemuTest
  void migratesBetweenTwoQemusWithEventsOnBothSides(QemuBinary binary) throws Exception {
    QemuProcess src = qemu(binary, "src");
    QemuProcess dst = qemu(binary, "dst", "-incoming", "defer");
    QmpClient dstClient = QmpClient.create(vertx, QmpClientOptions.of(dst.qmpAddress()));
    cleanup.add(() -> result(dstClient.close()));
    QmpConnection source = connect(src);
    QmpConnection target = result(dstClient.connect());
    List<String> srcStates = new CopyOnWriteArrayList<>();
    List<String> dstStates = new CopyOnWriteArrayList<>();
    source.subscribe(EventFilter.names("MIGRATION"), e -> srcStates.add(e.text("status")));
    target.subscribe(EventFilter.names("MIGRATION"), e -> dstStates.add(e.text("status")));
    result(source.migrateSetCapabilities(Map.of("events", true)));
    result(target.migrateSetCapabilities(Map.of("events", true)));
    int port;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    result(target.migrateIncoming("tcp:127.0.0.1:" + port));
    result(source.migrate("tcp:127.0.0.1:" + port));
    Await.until("both sides report completed", () -> srcStates.contains("completed") && dstStates.contains("completed"));
    assertThat(srcStates).startsWith("setup").contains("active").endsWith("completed");
    assertThat(dstStates).contains("active").endsWith("completed");
    MigrationInfo info = result(source.queryMigrate());
    assertThat(info.status()).isEqualTo("completed");
    assertThat(info.ramTotal()).isPositive();
  }

  @QemuTest
  void killingQemuFailsInFlightCommandsAtOnce(QemuBinary binary) {
    QemuProcess q = qemu(binary, "vm");
    QmpConnection c = connect(QmpClientOptions.of(q.qmpAddress()).withCommandTimeout(Duration.ofSeconds(60)));
    q.suspend();
    Future<VmStatus> inFlight = c.queryStatus();
    Await.until("the command is in flight", () -> c.inFlight() == 1);
    long start = System.nanoTime();
    q.kill();
    assertThat(failure(inFlight)).isInstanceOf(QmpClosedException.class).hasMessageContaining("lost");
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    Await.until("the connection is closed", () -> c.state() == QmpState.CLOSED);
    assertThat(failure(c.queryStatus())).isInstanceOf(QmpConnectionException.class).hasMessageContaining("closed");
  }

  @QemuTest
  void aStoppedQemuDoesNotHangConnect(QemuBinary binary) {
    QemuProcess q = qemu(binary, "vm");
    q.suspend();
    client = QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress()).withGreetingTimeout(Duration.ofMillis(500)));
    assertThat(failure(client.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("sent no greeting within 500 ms").hasMessageContaining("stopped (SIGSTOP)");
  }

  @QemuTest
  void aMonitorHeldByAnotherClientIsNamedAsTheCause(QemuBinary binary) {
    QemuProcess q = qemu(binary, "vm");
    QmpClient first = QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress()));
    result(first.connect());
    QmpClient second = QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress())
        .withGreetingTimeout(Duration.ofMillis(500)));
    assertThat(failure(second.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("sent no greeting within 500 ms: another client may hold the monitor")
        .hasMessageContaining("stop that client or connect through the sidecar's proxy socket");
    result(second.close());
    result(first.close());
    assertThat(connect(q).greeting().version().major()).as("free again once the first client left")
        .isEqualTo(binary.major());
  }

  @QemuTest
  void aSocketThatDeniesTheUserSaysPermissionDeniedNotCheckQmp(QemuBinary binary) throws Exception {
    Assumptions.assumeFalse("root".equals(System.getProperty("user.name")),
        "root ignores file modes (CAP_DAC_OVERRIDE): a socket of mode 000 accepts it; the sidecar's"
            + " DirectQmpCommandIT checks this message as user nobody");
    QemuProcess q = qemu(binary, "vm");
    Path socket = q.qmpAddress().unixPath();
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("---------"));
    client = QmpClient.create(vertx, QmpClientOptions.of(q.qmpAddress()));
    assertThat(failure(client.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageStartingWith("permission denied: " + socket + " (owner ")
        .hasMessageContaining("mode ---------").hasMessageContaining("run as ")
        .hasMessageNotContaining("-qmp");
  }

  @QemuTest
  void reconnectsToAQemuRestartedOnTheSameSocket(QemuBinary binary) {
    QemuProcess q = qemu(binary, "vm");
    QmpConnection c = connect(QmpClientOptions.of(q.qmpAddress()).withReconnect(
        ReconnectPolicy.FOREVER.withInitialDelay(Duration.ofMillis(20)).withMaxDelay(Duration.ofMillis(200))));
    List<QmpState> states = new CopyOnWriteArrayList<>();
    List<EventGap> gaps = new CopyOnWriteArrayList<>();
    c.onStateChange(states::add);
    c.subscribe(EventFilter.all(), new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent event) {}

      @Override
      public void onGap(EventGap gap) {
        gaps.add(gap);
      }
    });
    q.kill();
    Await.until("the loss is seen", () -> states.contains(QmpState.DISCONNECTED));
    q.start();
    Await.until("ready again", () -> c.state() == QmpState.READY);
    assertThat(result(c.queryStatus()).running()).isTrue();
    assertThat(states).containsSubsequence(QmpState.DISCONNECTED, QmpState.CONNECTING, QmpState.NEGOTIATING, QmpState.READY);
    Await.until("subscribers learn of the gap", () -> gaps.contains(EventGap.RECONNECTED));
  }

  @QemuTest
  void validatesCommandsAgainstTheRealSchema(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    QmpSchema schema = result(c.schema());
    assertThat(schema.hasCommand("device_add")).isTrue();
    assertThat(schema.events()).contains("DEVICE_DELETED", "MIGRATION");
    ObjectNode good = JSON.objectNode();
    good.putArray("capabilities").addObject().put("capability", "events").put("state", true);
    assertThat(schema.validate("migrate-set-capabilities", good)).isEmpty();

    ObjectNode stringBool = JSON.objectNode();
    stringBool.putArray("capabilities").addObject().put("capability", "events").put("state", "true");
    assertThat(schema.validate("migrate-set-capabilities", stringBool))
        .containsExactly(new SchemaViolation("arguments.capabilities[0].state", "expected boolean, got string \"true\""));

    assertThat(schema.validate("qom-get", JSON.objectNode().put("path", "/machine").put("prop", "type")))
        .extracting(SchemaViolation::path)
        .containsExactlyInAnyOrder("arguments.property", "arguments.prop");
    assertThat(schema.validate("no-such-command", null)).singleElement().asString().contains("no-such-command");
    assertThat(result(c.schema())).isSameAs(schema);
  }

  @QemuTest
  void everyTypedCommandFitsTheSchemaOfThisQemu(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    QmpSchema schema = result(c.schema());
    ObjectNode device = JSON.objectNode().put("driver", "virtio-net-pci").put("id", "nic1").put("bus", "rp1")
        .put("addr", "0.0").put("bootindex", 1).put("mac", "52:54:00:12:34:56");
    List<QmpCommand<?>> commands = List.of(QmpCommands.queryStatus(), QmpCommands.queryVersion(),
        QmpCommands.queryPci(), QmpCommands.qomList("/machine"), QmpCommands.qomGet("/machine", "type"),
        QmpCommands.deviceAdd(device), QmpCommands.deviceDel("nic1"), QmpCommands.stop(), QmpCommands.cont(),
        QmpCommands.systemReset(), QmpCommands.migrateSetCapabilities(Map.of("events", true)),
        QmpCommands.migrateSetParameters(JSON.objectNode().put("max-bandwidth", 1 << 20).put("downtime-limit", 300)),
        QmpCommands.migrate("tcp:127.0.0.1:4444"), QmpCommands.migrateIncoming("tcp:127.0.0.1:4444"),
        QmpCommands.migrateCancel(), QmpCommands.queryMigrate(), QmpCommands.getfd("f"), QmpCommands.closefd("f"),
        QmpCommands.addFd(3, "x"), QmpCommands.addFd(null, null), QmpCommands.removeFd(3, 5),
        QmpCommands.queryFdsets());
    for (QmpCommand<?> command : commands) {
      assertThat(schema.validate(command.name(), command.arguments())).as(command.name()).isEmpty();
    }
    // device_add's own members are still checked: driver is required, id is a string.
    assertThat(schema.validate("device_add", JSON.objectNode().put("id", 5)))
        .extracting(SchemaViolation::path).containsExactlyInAnyOrder("arguments.driver", "arguments.id");
  }

  @QemuTest
  void migrateLostItsDetachArgumentIn11(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    ObjectNode detach = JSON.objectNode().put("uri", "tcp:127.0.0.1:1").put("detach", true);
    List<SchemaViolation> violations = result(c.schema()).validate("migrate", detach);
    if (binary.major() >= 11) {
      assertThat(violations).singleElement().extracting(SchemaViolation::path).isEqualTo("arguments.detach");
      assertThat(failure(c.execute("migrate", detach))).isInstanceOf(QmpCommandException.class)
          .hasMessageContaining("Parameter 'detach' is unexpected");
    } else {
      assertThat(violations).isEmpty();
      // Accepted (and ignored): the migration to a closed port then fails on its own.
      result(c.execute("migrate", detach));
    }
  }

  @QemuTest
  void deviceAddRefusesWronglyTypedPropertiesSince10(QemuBinary binary) {
    QmpConnection c = connect(qemu(binary, "vm"));
    ObjectNode stringIndex = JSON.objectNode().put("driver", "virtio-net-pci").put("id", "nic1").put("bus", "rp1")
        .put("bootindex", "1");
    if (binary.major() >= 10) {
      assertThat(failure(c.deviceAdd(stringIndex))).isInstanceOf(QmpCommandException.class)
          .hasMessageContaining("Invalid parameter type for 'bootindex', expected: integer");
    } else {
      // QEMU 7.2 converts the string itself.
      result(c.deviceAdd(stringIndex));
      assertThat(result(c.qomGet("/machine/peripheral/nic1", "bootindex")).asInt()).isEqualTo(1);
    }
    result(c.deviceAdd(stringIndex.deepCopy().put("id", "nic2").put("bus", "rp2").put("bootindex", 2)));
    assertThat(result(c.qomGet("/machine/peripheral/nic2", "realized")).asBoolean()).isTrue();
  }
}
