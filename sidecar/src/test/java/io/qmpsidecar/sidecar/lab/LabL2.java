package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An L2 QEMU a test starts in one of lab/start's spare slots (through L1's control port), with a
 * QMP connection from the host that records every event. Closing it closes the connection and
 * kills the QEMU in L1.
 */
final class LabL2 implements AutoCloseable {
  static final Duration WAIT = Duration.ofSeconds(60);

  final String name;
  final QmpConnection qmp;
  final long pid;
  private final VfioLab lab;
  private final QmpClient client;
  private final List<QmpEvent> events = new CopyOnWriteArrayList<>();

  private LabL2(VfioLab lab, String name, QmpClient client, QmpConnection qmp, long pid) {
    this.lab = lab;
    this.name = name;
    this.client = client;
    this.qmp = qmp;
    this.pid = pid;
    qmp.subscribe(EventFilter.all(), 4096, events::add);
  }

  /**
   * Starts (after killing the previous one) the L2 of spare slot {@code name} on QEMU
   * {@code version}, as root, or as {@code user} (UID:GID) when not null, and connects to it.
   */
  static LabL2 start(Vertx vertx, VfioLab lab, String name, String version, String user, String... qemuArgs) {
    L1Shell l1 = lab.l1();
    String env = user == null ? "" : "L2_USER=" + user + " ";
    l1.kill(name);
    l1.run(env + "l2 " + name + " " + lab.sparePort(name) + " " + version + " " + String.join(" ", qemuArgs)
        + " || { cat /tmp/" + name + ".log; exit 1; }");
    QmpClient client = QmpClient.create(vertx, QmpClientOptions.of(lab.qmp(name))
        .withCommandTimeout(Duration.ofSeconds(30)));
    QmpConnection qmp = result(client.connect(), WAIT);
    return new LabL2(lab, name, client, qmp, l1.l2Pid(name));
  }

  /**
   * Waits until SeaBIOS set up every root port: numbered its secondary bus and then opened its
   * memory window (the last thing its PCI setup writes to a bridge). Before that, firmware may
   * still overwrite what a test programs into a root port.
   */
  LabL2 awaitFirmware() {
    until("the firmware of " + name + " set up the root ports", () -> {
      for (JsonNode bus : result(qmp.execute("query-pci", null))) {
        for (JsonNode d : bus.path("devices")) {
          JsonNode bridge = d.path("pci_bridge").path("bus");
          if (!bridge.isMissingNode() && (bridge.path("secondary").asInt() == 0
              || bridge.path("memory_range").path("base").asLong() > bridge.path("memory_range").path("limit").asLong())) {
            return false;
          }
        }
      }
      return true;
    });
    return this;
  }

  GuestIo io() {
    return new GuestIo(qmp);
  }

  JsonNode execute(String command, ObjectNode arguments) {
    return result(qmp.execute(command, arguments), WAIT);
  }

  static ObjectNode args() {
    return JsonNodeFactory.instance.objectNode();
  }

  /** Every event so far, in arrival order. */
  List<QmpEvent> events() {
    return List.copyOf(events);
  }

  /** The {@code device-state} of each {@code VFIO_MIGRATION} event of device {@code id}, in order. */
  List<String> vfioStates(String id) {
    return events.stream().filter(e -> e.name().equals("VFIO_MIGRATION") && id.equals(e.text("device-id")))
        .map(e -> e.text("device-state")).toList();
  }

  /** The first event matching, waiting up to {@link #WAIT}. */
  QmpEvent await(String what, Predicate<QmpEvent> match) {
    until(name + " emits " + what, () -> events.stream().anyMatch(match));
    return events.stream().filter(match).findFirst().orElseThrow();
  }

  QmpEvent awaitMigrationStatus(String status) {
    return await("MIGRATION " + status, e -> e.name().equals("MIGRATION") && status.equals(e.text("status")));
  }

  boolean realized(String id) {
    return result(qmp.qomList("/machine/peripheral")).stream().anyMatch(p -> p.name().equals(id))
        && result(qmp.qomGet("/machine/peripheral/" + id, "realized")).asBoolean();
  }

  static void until(String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + WAIT + " waiting until " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  @Override
  public void close() {
    result(client.close());
    lab.l1().kill(name);
  }
}
