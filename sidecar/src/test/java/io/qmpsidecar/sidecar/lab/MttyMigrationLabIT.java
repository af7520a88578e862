package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.lab.LabL2.args;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.MigrationCoordinator;
import io.qmpsidecar.sidecar.migration.MigrationCoordinatorOptions;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.qmpsidecar.sidecar.migration.MigrationEndpoint;
import io.qmpsidecar.sidecar.migration.MigrationEvent;
import io.qmpsidecar.sidecar.migration.MigrationListener;
import io.qmpsidecar.sidecar.migration.MigrationRequest;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.vertx.core.Vertx;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * VFIO device-state migration for real (lab v2): an mtty mdev, hot-plugged into the L2
 * {@code msrc} as {@code vfio-pci,sysfsdev=...,enable-migration=on,migration-events=on}, migrates
 * to a fresh {@code mdst} (started with {@code -incoming defer}, holding a second mtty mdev): the
 * failure paths at the QMP level with qmp-client, the migration itself through the coordinator
 * with no strategy given ({@code auto} chooses {@code vfio-migration}). The device's state is the UART's registers and the bytes in its
 * loopback FIFO, written through its I/O BAR before (no guest OS: {@link GuestIo}) and read back
 * on the destination after.
 *
 * <p>The failure paths run first, on the same source: the destination killed while RAM is still
 * being copied, and {@code migrate_cancel} while the device is in STOP_COPY (held there by the
 * {@code pause-before-switchover} capability); after each the source runs on with its device and
 * its state. The last test migrates. Each attempt gets a fresh destination QEMU and a freshly
 * created destination mdev ({@link L1Shell#recreateMdev}: an mtty left in RESUMING by a dead
 * destination refuses the next one).
 *
 * <p>The source's {@code downtime-limit} is 5 s: TCG inside TCG on shared cores measures a
 * bandwidth so low that the default 300 ms kept a quiet 64 MiB VM in pre-copy for two minutes
 * once; the switchover itself is what is tested here, not its speed.
 */
@ExtendWith(VfioLabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MttyMigrationLabIT {
  private static final String DEV = "mtty0";
  /** Where mdst listens for the migration stream, inside L1. */
  private static final String URI = "tcp:127.0.0.1:4453";
  /** The source's root port rp1 sits at 00:01.0; the mtty's I/O BAR goes at IO_BASE. */
  private static final int ROOT_SLOT = 1;
  private static final int IO_BASE = 0x8000;
  private static final int RBR = 0;
  private static final int FCR = 2;
  private static final int LCR = 3;
  private static final int LSR = 5;
  private static final int SCR = 7;
  private static final int LSR_DATA_READY = 0x01;
  private static final long DEFAULT_MAX_BANDWIDTH = 128L * 1024 * 1024;
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Map<String, Boolean> CAPABILITIES = Map.of("events", true, "return-path", true,
      "switchover-ack", true);

  private static Vertx vertx;
  private static VfioLab lab;
  private static String qemuVersion;
  private static LabL2 src;
  /** The state written into the source's mtty: its scratch register and the FIFO's bytes. */
  private static int scratch;
  private static final List<Integer> fifo = new ArrayList<>();

  private LabL2 dst;

  @BeforeAll
  static void startSource(VfioLab vfioLab) {
    lab = vfioLab;
    qemuVersion = lab.spareQemu();
    vertx = Vertx.vertx();
    long start = System.nanoTime();
    src = LabL2.start(vertx, lab, "msrc", qemuVersion, null).awaitFirmware();
    src.execute("migrate-set-parameters", args().put("downtime-limit", 5000));
    src.execute("device_add", mtty(lab.mdev(0)));
    assertThat(src.realized(DEV)).isTrue();
    GuestIo io = src.io();
    io.openIoWindow(ROOT_SLOT, IO_BASE);
    scratch = 1 + RANDOM.nextInt(255);
    io.outb(IO_BASE + FCR, 0x07);
    io.outb(IO_BASE + LCR, 0x03);
    for (int i = 0; i < 4; i++) {
      int b = RANDOM.nextInt(256);
      fifo.add(b);
      io.outb(IO_BASE + RBR, b);
    }
    io.outb(IO_BASE + SCR, scratch);
    assertThat(io.inb(IO_BASE + SCR)).as("the scratch register reads back on the source").isEqualTo(scratch);
    assertThat(io.inb(IO_BASE + LSR) & LSR_DATA_READY).as("the FIFO holds data").isEqualTo(LSR_DATA_READY);
    System.out.printf("lab timing: mtty source %s started, device added and written in %d ms%n", src.name,
        Duration.ofNanos(System.nanoTime() - start).toMillis());
  }

  @AfterAll
  static void stopSource() {
    if (src != null) {
      src.close();
    }
    result(vertx.close());
  }

  @AfterEach
  void stopDestination() {
    if (dst != null) {
      dst.close();
    }
  }

  @Test
  @Order(1)
  void theDestinationKilledMidCopyLeavesTheSourceRunningWithItsDevice() {
    dst = destination();
    src.execute("migrate-set-parameters", args().put("max-bandwidth", 64 * 1024));
    int before = src.events().size();

    src.execute("migrate", args().put("uri", URI));
    LabL2.until("the source copies RAM", () -> info(src).ramTransferred() > 0);
    lab.l1().kill(dst.name);

    src.awaitMigrationStatus("failed");
    assertStates(before, "killed");
    MigrationInfo after = info(src);
    assertThat(after.status()).isEqualTo("failed");
    assertThat(after.errorDesc()).isNotBlank();
    assertThat(result(src.qmp.queryStatus()).status()).isEqualTo("running");
    assertThat(src.realized(DEV)).isTrue();
    assertStateStillOnSource();
    System.out.printf("lab mtty: destination killed mid-copy: source VFIO states %s, error %s%n",
        statesSince(before), after.errorDesc());
    src.execute("migrate-set-parameters", args().put("max-bandwidth", DEFAULT_MAX_BANDWIDTH));
  }

  @Test
  @Order(2)
  void migrateCancelDuringStopCopyLeavesTheSourceRunningWithItsDevice() {
    dst = destination();
    capabilities(src, Map.of("pause-before-switchover", true));
    int before = src.events().size();

    src.execute("migrate", args().put("uri", URI));
    src.awaitMigrationStatus("pre-switchover");
    assertStates(before, "paused");
    assertThat(result(src.qmp.queryStatus()).status()).isEqualTo("finish-migrate");
    src.execute("migrate_cancel", null);

    src.awaitMigrationStatus("cancelled");
    assertStates(before, "cancelled");
    assertThat(result(src.qmp.queryStatus()).status()).isEqualTo("running");
    assertThat(src.realized(DEV)).isTrue();
    assertStateStillOnSource();
    System.out.printf("lab mtty: cancel in stop-copy: source VFIO states %s%n", statesSince(before));
    capabilities(src, Map.of("pause-before-switchover", false));
  }

  /**
   * The migration itself runs through the coordinator with no strategy given: PREFLIGHT finds no
   * blocker naming the device in QEMU's {@code blocked-reasons} and chooses {@code vfio-migration},
   * the DPU hears the choice and its reason, then QEMU's own device states.
   */
  @Test
  @Order(3)
  void withNoStrategyGivenTheCoordinatorChoosesVfioMigrationAndTheDevicesStateArrives() {
    dst = destination(false);
    int before = src.events().size();
    long start = System.nanoTime();
    assertThat(info(src).blockedReasons()).as("QEMU reports no blocker for the mtty").isEmpty();
    List<MigrationEvent> events = new CopyOnWriteArrayList<>();
    MigrationListener listener = events::add;
    MigrationCoordinator coordinator = new MigrationCoordinator(vertx, new MigrationDriver(),
        MigrationCoordinatorOptions.defaults(), listener);
    MigratingFunction fn = new MigratingFunction(new DeviceSpec(DEV, "vfio-pci", Map.of("bus", "rp1",
        "sysfsdev", lab.mdev(0).sysfsdev(), "enable-migration", "on", "migration-events", "true")),
        Strategy.AUTO, true);

    result(coordinator.start(new MigrationEndpoint(src.name, src.qmp, null), new MigrationEndpoint(dst.name, dst.qmp, null),
        MigrationRequest.to(URI).withFunctions(List.of(fn)).withCapabilities(CAPABILITIES)).result(), Duration.ofMinutes(5));
    dst.awaitMigrationStatus("completed");
    assertStates(before, "migrated");

    List<MigrationEvent.FunctionStep> steps = events.stream().filter(e -> e instanceof MigrationEvent.FunctionStep)
        .map(e -> (MigrationEvent.FunctionStep) e).toList();
    assertThat(steps).extracting(MigrationEvent.FunctionStep::step).containsExactly("strategy-chosen", "migrating-with-qemu");
    assertThat(steps).extracting(MigrationEvent.FunctionStep::strategy).containsOnly(Strategy.VFIO_MIGRATION);
    ObjectNode chosen = PublishedMigrationEvent.of(steps.get(0)).data();
    assertThat(chosen.path("strategy").asText()).isEqualTo("vfio-migration");
    assertThat(chosen.path("reason").asText()).isEqualTo("QEMU reports no migration blocker for " + DEV
        + ": its state migrates with QEMU");
    List<MigrationEvent.VfioState> told = events.stream()
        .filter(e -> e instanceof MigrationEvent.VfioState v && v.vm().equals(src.name))
        .map(e -> (MigrationEvent.VfioState) e).toList();
    assertThat(told).extracting(MigrationEvent.VfioState::state).as("the DPU hears the source device's states")
        .containsSubsequence("pre-copy", "stop-copy");
    assertThat(told).extracting(MigrationEvent.VfioState::derived).as("QEMU's own, not derived").containsOnly(false);

    Duration took = Duration.ofNanos(System.nanoTime() - start);
    MigrationInfo figures = info(src);
    assertThat(result(dst.qmp.queryStatus()).status()).isEqualTo("running");
    assertThat(dst.realized(DEV)).isTrue();
    GuestIo io = dst.io();
    assertThat(io.inb(IO_BASE + SCR)).as("the scratch register arrived").isEqualTo(scratch);
    assertThat(io.inb(IO_BASE + LCR)).as("the line control register arrived").isEqualTo(0x03);
    List<Integer> read = new ArrayList<>();
    while ((io.inb(IO_BASE + LSR) & LSR_DATA_READY) != 0 && read.size() <= fifo.size()) {
      read.add(io.inb(IO_BASE + RBR));
    }
    assertThat(read).as("the FIFO's bytes arrived, in order").isEqualTo(fifo);
    JsonNode vfio = figures.raw().path("vfio");
    assertThat(vfio.path("transferred").asLong()).as("QEMU counted the device's data").isPositive();
    LabL2.until("the destination's device runs", () -> dst.vfioStates(DEV).size() >= 3);
    assertThat(dst.vfioStates(DEV)).containsExactly("resuming", "running-p2p", "running");
    assertThat(result(src.qmp.queryStatus()).status()).isEqualTo("postmigrate");
    System.out.printf("lab mtty: source VFIO states %s, destination %s%n", statesSince(before), dst.vfioStates(DEV));
    System.out.printf("lab timing: mtty migration %d ms end to end; query-migrate: total-time %d ms, downtime %d ms,"
        + " setup-time %d ms, ram transferred %d bytes, vfio transferred %d bytes%n", took.toMillis(),
        figures.totalTimeMs(), figures.downtimeMs(), figures.setupTimeMs(), figures.ramTransferred(),
        vfio.path("transferred").asLong());
  }

  /** A fresh destination with the second mtty at the same id and root port, waiting for the stream. */
  private LabL2 destination() {
    return destination(true);
  }

  /** A fresh destination with the second mtty; {@code incoming}: waiting for the stream, else left to the coordinator. */
  private LabL2 destination(boolean incoming) {
    lab.l1().kill("mdst");
    lab.l1().recreateMdev(lab.mdev(1));
    LabL2 d = LabL2.start(vertx, lab, "mdst", qemuVersion, null, "-incoming", "defer");
    d.execute("device_add", mtty(lab.mdev(1)));
    if (incoming) {
      capabilities(d, CAPABILITIES);
      capabilities(src, CAPABILITIES);
      d.execute("migrate-incoming", args().put("uri", URI));
    }
    return d;
  }

  private void assertStateStillOnSource() {
    assertThat(src.io().inb(IO_BASE + SCR)).as("the source's device kept its state").isEqualTo(scratch);
    assertThat(src.io().inb(IO_BASE + LSR) & LSR_DATA_READY).isEqualTo(LSR_DATA_READY);
  }

  /**
   * The source device's VFIO_MIGRATION states QEMU emits (measured on each version) up to a point
   * of a migration: after a destination killed in pre-copy, paused before the switchover, after
   * a cancel there, after completion. QEMU 11.1 adds {@code pre-copy-p2p-prepare} and, on cancel,
   * reports {@code running} before the {@code running-p2p}, {@code running} of the VM's restart.
   */
  private static List<String> expectedStates(String point) {
    List<String> toStopCopy = switch (qemuVersion) {
      case "10.0" -> List.of("pre-copy", "pre-copy-p2p", "stop-copy");
      case "11.1" -> List.of("pre-copy", "pre-copy-p2p-prepare", "pre-copy-p2p", "stop-copy");
      default -> throw new AssertionError("no VFIO_MIGRATION sequence recorded for QEMU " + qemuVersion
          + "; run this test with -Dlab.qemu=" + qemuVersion + " and record what it emits");
    };
    List<String> states = new ArrayList<>();
    switch (point) {
      case "killed" -> states.addAll(List.of("pre-copy", "running"));
      case "paused" -> states.addAll(toStopCopy);
      case "cancelled" -> {
        states.addAll(toStopCopy);
        if (qemuVersion.equals("11.1")) {
          states.add("running");
        }
        states.addAll(List.of("running-p2p", "running"));
      }
      case "migrated" -> {
        states.addAll(toStopCopy);
        states.add("stop");
      }
      default -> throw new IllegalArgumentException(point);
    }
    return states;
  }

  /** Waits until the source's device went through as many states as expected, then compares. */
  private static void assertStates(int since, String point) {
    List<String> expected = expectedStates(point);
    LabL2.until(expected.size() + " VFIO_MIGRATION states of " + DEV + " (" + point + ")",
        () -> statesSince(since).size() >= expected.size());
    assertThat(statesSince(since)).as("VFIO_MIGRATION states of %s on QEMU %s", DEV, qemuVersion)
        .containsExactlyElementsOf(expected);
  }

  private static List<String> statesSince(int index) {
    return src.events().subList(index, src.events().size()).stream()
        .filter(e -> e.name().equals("VFIO_MIGRATION") && DEV.equals(e.text("device-id")))
        .map(e -> e.text("device-state")).toList();
  }

  private static MigrationInfo info(LabL2 l2) {
    return result(l2.qmp.queryMigrate());
  }

  private static void capabilities(LabL2 l2, Map<String, Boolean> caps) {
    result(l2.qmp.migrateSetCapabilities(caps));
  }

  private static ObjectNode mtty(LabMdev mdev) {
    return args().put("driver", "vfio-pci").put("id", DEV).put("bus", "rp1").put("sysfsdev", mdev.sysfsdev())
        .put("enable-migration", "on").put("migration-events", true);
  }
}
