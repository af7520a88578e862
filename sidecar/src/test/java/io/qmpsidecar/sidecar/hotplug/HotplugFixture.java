package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.ReconnectPolicy;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** One sidecar (store, events, host prep, operations) over one QEMU, for the hotplug ITs. */
final class HotplugFixture implements AutoCloseable {
  static final String VM = "vm1";

  final Vertx vertx;
  final Path dir;
  final SysfsTree tree;
  final FakeKernel kernel;
  final EventStream events;
  final List<SidecarEvent> seen = new CopyOnWriteArrayList<>();
  final HotplugOptions options;
  QmpClient client;
  QmpConnection conn;
  StateStore store;
  Operations ops;

  HotplugFixture(Vertx vertx, Path dir, HotplugOptions options) {
    this.vertx = vertx;
    this.dir = dir;
    this.options = options;
    this.tree = new SysfsTree(dir.resolve("host"));
    this.kernel = new FakeKernel(tree);
    this.events = new EventStream(vertx, Clock.systemUTC(), 1024);
    events.subscribe(e -> true, 1024, seen::add);
  }

  static HotplugOptions fastOptions() {
    return HotplugOptions.defaults().withDetachWait(Duration.ofMillis(300));
  }

  /** Connects to {@code qemu} (reconnecting when it restarts) and starts the sidecar on it. */
  HotplugFixture start(QemuProcess qemu) {
    client = QmpClient.create(vertx, QmpClientOptions.of(qemu.qmpAddress())
        .withReconnect(ReconnectPolicy.FOREVER.withInitialDelay(Duration.ofMillis(50))
            .withMaxDelay(Duration.ofMillis(200))));
    conn = result(client.connect());
    return restartSidecar();
  }

  /** A fresh sidecar on the same state file and connection, as after a sidecar restart. */
  HotplugFixture restartSidecar() {
    if (ops != null) {
      ops.close();
      result(store.close());
    }
    store = result(StateStore.open(vertx, dir.resolve(StateStore.FILE_NAME)));
    ops = new Operations(vertx, new PolicyEngine(Policies.preset("default"), AuditSink.NONE,
        Clock.systemUTC()), store, events, new SysfsHostPrep(vertx, tree.sys(), tree.dev(), kernel),
        options, 4);
    result(ops.addVm(VM, conn));
    return this;
  }

  /** Waits until the event log above has received every event published so far. */
  void sync() {
    long last = events.lastId();
    Await.until("events up to " + last + " delivered",
        () -> !seen.isEmpty() && seen.get(seen.size() - 1).id() >= last);
  }

  List<String> types() {
    sync();
    return seen.stream().map(SidecarEvent::type).toList();
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

  @Override
  public void close() {
    if (ops != null) {
      ops.close();
      result(store.close());
    }
    if (client != null) {
      result(client.close());
    }
  }
}
