package io.qmpsidecar.sidecar.testing;

import static io.qmpsidecar.qmp.testing.Await.result;

import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.ReleaseGate;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.OperationGuard;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.PolicyGate;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A sidecar's operations layer without its entry points: the VM registry, the state store, the
 * policy gate, the event stream and the operations, for tests that drive the flows directly.
 * {@link #seen} records every event, QEMU's own ({@code qmp.*}) included.
 */
public final class OperationsRig implements AutoCloseable {
  public final EventStream events;
  public final List<SidecarEvent> seen = new CopyOnWriteArrayList<>();
  private final Vertx vertx;
  private final VmRegistry vms;
  private final SysfsHostPrep hostPrep;
  private HotplugOptions options;
  private final Path stateFile;
  private final Policy policy;
  private ValueSets valueSets;
  private final int maxQueuedPerVm;
  private final SidecarMetrics metrics = new SidecarMetrics();
  private final Map<String, QmpConnection> conns = new LinkedHashMap<>();
  private StateStore store;
  private Operations ops;
  private ReleaseGate.Processes processes;

  /** With the {@code default} preset and 4 operations queued per VM at most. */
  public OperationsRig(Vertx vertx, Map<String, QmpAddress> addresses, SysfsHostPrep hostPrep, HotplugOptions options,
      Path stateFile) {
    this(vertx, addresses, hostPrep, options, stateFile, Policies.preset("default"), 4);
  }

  /** Connects to every VM of {@code addresses} (reconnecting when one restarts) and starts the layer. */
  public OperationsRig(Vertx vertx, Map<String, QmpAddress> addresses, SysfsHostPrep hostPrep, HotplugOptions options,
      Path stateFile, Policy policy, int maxQueuedPerVm) {
    this(vertx, addresses, hostPrep, options, stateFile, policy, ValueSets.EMPTY, maxQueuedPerVm);
  }

  /** The same, with the configuration's value sets the policy names (e.g. {@code hotplug.mdevTypes}). */
  public OperationsRig(Vertx vertx, Map<String, QmpAddress> addresses, SysfsHostPrep hostPrep, HotplugOptions options,
      Path stateFile, Policy policy, ValueSets valueSets, int maxQueuedPerVm) {
    this.vertx = vertx;
    this.policy = policy;
    this.valueSets = valueSets;
    this.maxQueuedPerVm = maxQueuedPerVm;
    this.hostPrep = hostPrep;
    this.options = options;
    this.stateFile = stateFile;
    this.events = new EventStream(vertx, Clock.systemUTC(), 1024);
    events.subscribe(e -> true, 4096, seen::add);
    List<SidecarConfig.Vm> configured = new ArrayList<>();
    addresses.forEach((name, address) -> configured.add(new SidecarConfig.Vm(name, address)));
    this.vms = new VmRegistry(vertx, configured, options.queryTimeout(), events, metrics);
    vms.start(null, (vm, c) -> { });
    for (String name : addresses.keySet()) {
      Await.until(name + " is connected", () -> vms.get(name).ready().succeeded());
      conns.put(name, result(vms.get(name).ready()));
    }
    restart();
  }

  /** {@link #restart()} with other value sets, as after a configuration reload. */
  public OperationsRig restart(ValueSets newValueSets) {
    this.valueSets = newValueSets;
    return restart();
  }

  /** {@link #restart()} with other time limits. */
  public OperationsRig restart(HotplugOptions newOptions) {
    this.options = newOptions;
    return restart();
  }

  /** A fresh operations layer on the same state file and connections, as after a sidecar restart. */
  public OperationsRig restart() {
    closeOperations();
    store = result(StateStore.open(vertx, stateFile));
    PolicyGate gate = new PolicyGate(new PolicyEngine(policy, valueSets, AuditSink.NONE, Clock.systemUTC()), metrics);
    ops = new Operations(vertx, vms, gate, store, events, hostPrep, options, metrics, maxQueuedPerVm,
        OperationGuard.NONE, processes);
    conns.forEach((name, conn) -> result(ops.connected(name, conn)));
    return this;
  }

  /**
   * A fresh operations layer that watches the release of removed VFIO functions through
   * {@code processes} (the lab's: QEMU runs in L1).
   */
  public OperationsRig releasesWatchedBy(ReleaseGate.Processes processes) {
    this.processes = processes;
    return restart();
  }

  public Operations ops() {
    return ops;
  }

  public StateStore store() {
    return store;
  }

  /** The VM's handle: its connection now, whichever QEMU serves the monitor. */
  public VmHandle handle(String vm) {
    return vms.get(vm);
  }

  /** The VM's connection, shared with the operations layer (QEMU serves one client per monitor). */
  public QmpConnection conn(String vm) {
    return conns.get(vm);
  }

  @Override
  public void close() {
    closeOperations();
    result(vms.close());
  }

  private void closeOperations() {
    if (ops != null) {
      ops.close();
      result(store.close());
    }
  }
}
