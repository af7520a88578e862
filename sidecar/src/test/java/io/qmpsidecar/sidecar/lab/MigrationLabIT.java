package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static io.qmpsidecar.sidecar.lab.LabSidecar.vfio;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.migration.CoordinationState;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.MigrationCoordinator;
import io.qmpsidecar.sidecar.migration.MigrationCoordinatorOptions;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.qmpsidecar.sidecar.migration.MigrationEndpoint;
import io.qmpsidecar.sidecar.migration.MigrationEvent;
import io.qmpsidecar.sidecar.migration.MigrationListener;
import io.qmpsidecar.sidecar.migration.MigrationOutcome;
import io.qmpsidecar.sidecar.migration.MigrationRequest;
import io.qmpsidecar.sidecar.migration.MigrationResult;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.qmpsidecar.sidecar.state.Attachment;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migration between the lab's two L2s ({@code mig}, and {@code mig-dst} started with
 * {@code -incoming defer}) while {@code mig} holds a real VF with {@code vfio-pci}. The emulated
 * VF has no migration-capable variant driver, so QEMU blocks VFIO migration itself; the
 * strategies {@code block} and {@code unplug-replug} are what a DPU VF like it gets, and what
 * {@code auto} chooses from QEMU's blocker. The last test migrates with no strategy given, which a
 * {@code -incoming defer} destination accepts once per lab boot.
 */
@ExtendWith(VfioLabExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationLabIT {
  private static final String SRC = "mig";
  private static final String DST = "mig-dst";
  private static final String VF = "dpu-vf1";
  /** Where mig-dst listens, inside L1 (both L2s run there). */
  private static final String URI = "tcp:127.0.0.1:4447";
  private static Vertx vertx;
  private static LabSidecar sidecar;
  private static DeviceSpec spec;
  /** QEMU 10.0's blocker for a VFIO device whose kernel driver cannot migrate it. */
  private static String blocker;

  private final List<MigrationEvent> events = new CopyOnWriteArrayList<>();
  private MigrationCoordinator coordinator;

  @BeforeAll
  static void startSidecar(VfioLab lab, @TempDir Path dir) {
    vertx = Vertx.vertx();
    sidecar = new LabSidecar(vertx, lab, dir, SRC, DST).ejectOnDetach(SRC).ejectOnDetach(DST)
        .awaitFirmware(SRC);
    LabFunction vf = lab.vfs().get(1);
    spec = new DeviceSpec(VF, "vfio-pci", Map.of("host", vf.bdf().value(), "bus", "rp1"));
    blocker = vf.bdf() + ": VFIO migration is not supported in kernel";
    sidecar.attach(vfio(SRC, FunctionRef.of(vf.bdf()), VF, "rp1"));
  }

  @AfterAll
  static void stopSidecar() {
    try {
      sidecar.detachAll(SRC);
      sidecar.detachAll(DST);
    } finally {
      sidecar.close();
      result(vertx.close());
    }
  }

  @BeforeEach
  void coordinator() {
    MigrationListener listener = events::add;
    coordinator = new MigrationCoordinator(vertx, new MigrationDriver(), MigrationCoordinatorOptions.defaults()
        .withDetachTimeout(Duration.ofSeconds(30)).withAttachRetryDelay(Duration.ofMillis(500)), listener);
  }

  @Test
  @Order(1)
  void blockedReasonsNameTheRealVfioDevice() {
    Attachment a = result(sidecar.ops.attachments(Caller.cli(), SRC)).get(0);

    assertThat(result(sidecar.conn(SRC).queryMigrate()).blockedReasons()).containsExactly(blocker);
    assertThat(a.migrationBlockedReasons()).containsExactly(blocker);
    assertThat(result(sidecar.conn(DST).queryMigrate()).blockedReasons()).isEmpty();
  }

  @Test
  @Order(2)
  void aMigrationThatIgnoresTheDeviceIsRefusedWithQemusBlockerText() {
    SidecarException e = (SidecarException) failure(coordinator.start(source(), destination(),
        MigrationRequest.to(URI)).result());

    assertThat(e.code()).isEqualTo("migration-blocked");
    assertThat(e.detail("reasons")).isEqualTo(List.of(blocker));
    assertThat(e.getMessage()).startsWith("QEMU blocks the migration of mig: " + blocker);
    assertThat(result(sidecar.conn(SRC).queryMigrate()).status()).isEqualTo("none");
    assertThat(sidecar.realized(SRC, VF)).isTrue();
  }

  @Test
  @Order(3)
  void blockStrategyRefusesBeforeAnythingChanges() {
    MigratingFunction fn = new MigratingFunction(spec, Strategy.BLOCK, true);

    SidecarException e = (SidecarException) failure(coordinator.start(source(), destination(),
        MigrationRequest.to(URI).withFunctions(List.of(fn))).result());

    assertThat(e.code()).isEqualTo("migration-refused");
    assertThat(e.detail("devices")).isEqualTo(List.of(VF));
    assertThat(e.getMessage()).contains(VF + " has migration strategy block");
    assertThat(states()).containsExactly(CoordinationState.PREFLIGHT, CoordinationState.REFUSED);
    assertThat(result(sidecar.conn(SRC).queryMigrate()).status()).isEqualTo("none");
    assertThat(sidecar.realized(SRC, VF)).isTrue();
  }

  @Test
  @Order(4)
  void withNoStrategyGivenQemusBlockerChoosesUnplugReplugAndTheRealVfMovesToTheDestination() {
    MigratingFunction fn = new MigratingFunction(spec, Strategy.AUTO, true);
    long start = System.nanoTime();

    MigrationResult r = result(coordinator.start(source(), destination(),
        MigrationRequest.to(URI).withFunctions(List.of(fn))).result(), Duration.ofMinutes(3));

    assertThat(r.source().outcome()).isEqualTo(MigrationOutcome.COMPLETED);
    assertThat(sidecar.realized(DST, VF)).isTrue();
    assertThat(sidecar.realized(SRC, VF)).isFalse();
    assertThat(result(sidecar.conn(DST).queryStatus()).status()).isEqualTo("running");
    assertThat(result(sidecar.conn(DST).queryMigrate()).blockedReasons()).containsExactly(blocker);
    assertThat(result(sidecar.ops.attachments(Caller.cli(), DST))).extracting(Attachment::hostBdf)
        .containsExactly(spec.properties().get("host"));
    assertThat(result(sidecar.ops.attachments(Caller.cli(), SRC))).isEmpty();
    List<MigrationEvent.FunctionStep> steps = events.stream().filter(e -> e instanceof MigrationEvent.FunctionStep)
        .map(e -> (MigrationEvent.FunctionStep) e).toList();
    assertThat(steps).extracting(MigrationEvent.FunctionStep::step)
        .containsExactly("strategy-chosen", "detaching", "detached", "destination-may-attach", "attached-on-destination");
    assertThat(steps).extracting(MigrationEvent.FunctionStep::strategy).containsOnly(Strategy.UNPLUG_REPLUG);
    ObjectNode chosen = PublishedMigrationEvent.of(steps.get(0)).data();
    assertThat(chosen.path("strategy").asText()).isEqualTo("unplug-replug");
    assertThat(chosen.path("reason").asText()).isEqualTo("QEMU: " + blocker);
    System.out.printf("lab timing: auto (unplug-replug) migration of %s with a real VF %d ms%n", SRC,
        Duration.ofNanos(System.nanoTime() - start).toMillis());
  }

  private MigrationEndpoint source() {
    return new MigrationEndpoint(SRC, sidecar.conn(SRC), new OperationsFunctionHotplug(sidecar));
  }

  private MigrationEndpoint destination() {
    return new MigrationEndpoint(DST, sidecar.conn(DST), new OperationsFunctionHotplug(sidecar));
  }

  private List<CoordinationState> states() {
    return events.stream().filter(e -> e instanceof MigrationEvent.Coordination)
        .map(e -> ((MigrationEvent.Coordination) e).state()).toList();
  }
}
