package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.OperationsRig;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One sidecar's operations layer over one QEMU, with a fake sysfs tree for host prep, for the
 * hotplug ITs, in the test's directory of a {@link SidecarHarness}, closed with the test.
 */
final class HotplugFixture {
  static final String VM = "vm1";

  private final SidecarHarness harness;
  final SysfsTree tree;
  final FakeKernel kernel;
  final HotplugOptions options;
  private OperationsRig rig;
  QmpConnection conn;
  List<SidecarEvent> seen;
  EventStream events;
  Operations ops;

  HotplugFixture(SidecarHarness harness, HotplugOptions options) {
    this.harness = harness;
    this.options = options;
    this.tree = new SysfsTree(harness.dir().resolve("host"));
    this.kernel = new FakeKernel(tree);
  }

  static HotplugOptions fastOptions() {
    return HotplugOptions.defaults().withDetachWait(Duration.ofMillis(300));
  }

  /** Connects to {@code qemu} (reconnecting when it restarts) and starts the sidecar on it. */
  HotplugFixture start(QemuProcess qemu) {
    return start(qemu, ValueSets.EMPTY);
  }

  /** The same, with the default preset deciding with the configuration's {@code valueSets}. */
  HotplugFixture start(QemuProcess qemu, ValueSets valueSets) {
    rig = harness.track(new OperationsRig(harness.vertx(), Map.of(VM, qemu.qmpAddress()),
        new SysfsHostPrep(harness.vertx(), tree.sys(), tree.dev(), kernel), options,
        harness.dir().resolve(StateStore.FILE_NAME), Policies.preset("default"), valueSets, 4));
    conn = rig.conn(VM);
    seen = rig.seen;
    events = rig.events;
    ops = rig.ops();
    return this;
  }

  /** {@link #restartSidecar()} with other value sets. */
  HotplugFixture restartSidecar(ValueSets valueSets) {
    ops = rig.restart(valueSets).ops();
    return this;
  }

  /** A fresh sidecar on the same state file and connection, as after a sidecar restart. */
  HotplugFixture restartSidecar() {
    ops = rig.restart().ops();
    return this;
  }

  StateStore store() {
    return rig.store();
  }

  /** Waits until the event log above has received every event published so far. */
  void sync() {
    long last = events.lastId();
    Await.until("events up to " + last + " delivered",
        () -> !seen.isEmpty() && seen.get(seen.size() - 1).id() >= last);
  }

  List<String> types() {
    sync();
    return seen.stream().map(SidecarEvent::type).filter(t -> !t.startsWith("qmp.")).toList();
  }

  SidecarEvent awaitEvent(String type, String id) {
    Await.until(type + " for " + id, () -> seen.stream()
        .anyMatch(e -> e.type().equals(type) && id.equals(e.text("id"))));
    return find(type, id);
  }

  SidecarEvent find(String type, String id) {
    sync();
    return seen.stream().filter(e -> e.type().equals(type) && id.equals(e.text("id"))).findFirst().orElse(null);
  }

  /** Waits until the firmware numbered the root port's secondary bus. */
  void awaitBusNumbered(String rootPort) {
    Await.until("bus of " + rootPort + " numbered", () -> result(conn.queryPci()).stream()
        .anyMatch(d -> rootPort.equals(d.qdevId()) && d.secondaryBus() != null && d.secondaryBus() > 0));
  }

  boolean inQom(String id) {
    return result(conn.qomList("/machine/peripheral")).stream().anyMatch(p -> p.name().equals(id));
  }
}
