package io.qmpsidecar.sidecar.ops;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.policy.RequestContext;
import io.qmpsidecar.policy.Via;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.libvirt.LibvirtMigration;
import io.qmpsidecar.sidecar.liveupdate.LiveUpdateFlow;
import io.qmpsidecar.sidecar.liveupdate.LiveUpdateOptions;
import io.qmpsidecar.sidecar.liveupdate.LiveUpdateResult;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.migration.CoordinatedMigration;
import io.qmpsidecar.sidecar.migration.CoordinationState;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.MigrationCoordinator;
import io.qmpsidecar.sidecar.migration.MigrationCoordinatorOptions;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.qmpsidecar.sidecar.migration.MigrationEndpoint;
import io.qmpsidecar.sidecar.migration.MigrationEvent;
import io.qmpsidecar.sidecar.migration.MigrationFailures;
import io.qmpsidecar.sidecar.migration.MigrationListener;
import io.qmpsidecar.sidecar.migration.MigrationMonitor;
import io.qmpsidecar.sidecar.migration.MigrationMonitorOptions;
import io.qmpsidecar.sidecar.migration.MigrationParameters;
import io.qmpsidecar.sidecar.migration.MigrationRequest;
import io.qmpsidecar.sidecar.migration.MigrationRole;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.migration.RunStates;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Coordinated migrations between VMs this sidecar serves: the caller's {@code migrate} (and
 * {@code migrate_cancel}) is decided by the policy, every attached function follows its strategy,
 * and each run is kept per source VM so that its status can be read and it can be cancelled.
 * Every step is published on the event stream ({@link PublishedMigrationEvent}) with the run's
 * operation id and caller.
 */
public final class Migrations {
  private final Vertx vertx;
  private final VmRegistry vms;
  private final Operations operations;
  private final EventStream events;
  private final PolicyGate gate;
  private final MigrationDriver driver = new MigrationDriver();
  private final MigrationCoordinator coordinator;
  private final Map<String, Run> runs = new ConcurrentHashMap<>();
  private final Map<String, Operation> runOperations = new ConcurrentHashMap<>();
  private final Map<String, MigrationMonitor> adopted = new ConcurrentHashMap<>();
  private final SidecarMetrics metrics;
  private final MigrationListener listener;
  private final StateStore store;
  private final LiveUpdateFlow liveUpdate;

  /**
   * One run: where it goes and its handle, the coordinator's for a QMP VM ({@code migration}) or
   * the libvirt flow's for a libvirt VM ({@code libvirt}); the other is null.
   */
  public record Run(String vm, String destination, CoordinatedMigration migration, LibvirtMigration libvirt) {
    public Run(String vm, String destination, CoordinatedMigration migration) {
      this(vm, destination, migration, null);
    }
  }

  /** The operation id and caller that a run's events and log lines carry. */
  record Operation(String opId, String caller) {}

  public Migrations(Vertx vertx, VmRegistry vms, Operations operations, EventStream events, PolicyGate gate,
      SidecarMetrics metrics, LiveUpdateOptions liveUpdate) {
    this.liveUpdate = new LiveUpdateFlow(vertx, events, liveUpdate);
    this.store = operations.store();
    this.vertx = vertx;
    this.vms = vms;
    this.operations = operations;
    this.events = events;
    this.gate = gate;
    this.metrics = metrics;
    this.listener = this::publish;
    this.coordinator = new MigrationCoordinator(vertx, driver, MigrationCoordinatorOptions.defaults(),
        listener);
  }

  /**
   * Starts migrating {@code vm} to {@code destination}, another VM of this sidecar started with
   * {@code -incoming defer}. Every attached function follows {@code strategy};
   * {@link Strategy#AUTO}: each gets the one PREFLIGHT chooses from what QEMU reports.
   *
   * @return the run; fails with {@link SidecarException}: {@code DENIED} when the caller may not
   *     {@code migrate} to {@code uri} or the guard refuses, {@code NOT_FOUND}/{@code UNAVAILABLE}
   *     for either VM, {@code migration-refused} for a URI whose scheme the sidecar never passes
   *     to QEMU (checked here, so that no run starts), and the coordinator's refusals
   */
  public Future<Run> start(Caller caller, String vm, String destination, String uri, Strategy strategy,
      MigrationParameters parameters) {
    VmHandle source;
    VmHandle target;
    String opId = OperationTrace.newOpId("migrate");
    try {
      source = vms.get(vm);
      target = vms.get(destination);
      gate.require(new PolicyRequest(caller, "migrate", JsonNodeFactory.instance.objectNode().put("uri", uri),
          RequestContext.of(Via.MIGRATE)),
          "migrate " + vm + " to " + uri, vm, opId);
      if (source.libvirt() == null) {
        driver.checkUri(vm, uri);
      }
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    OperationsHotplug hotplug = new OperationsHotplug(vertx, operations, events, caller, opId);
    if ((source.libvirt() == null) != (target.libvirt() == null)) {
      return Future.failedFuture(MigrationFailures.refused(vm, List.of(), "VM " + vm + " and VM " + destination
          + " are not both managed by libvirt; a libvirt domain migrates only to another libvirtd"));
    }
    if (source.libvirt() != null && strategy == Strategy.AUTO) {
      return Future.failedFuture(MigrationFailures.refused(vm, List.of(), "strategy auto needs QEMU's blocked-reasons,"
          + " which libvirt does not pass on; name the strategy for libvirt VM " + vm + " (unplug-replug, block)"));
    }
    Future<Void> prepared = operations.guard()
        .prepare(GuardedOperation.migrate(caller, vm, destination, uri, strategy.wireName(), opId));
    if (source.libvirt() != null) {
      return prepared.compose(v -> operations.attachedFunctions(vm)).compose(attached -> LibvirtMigration.start(vertx,
          events, store, hotplug, source.libvirt(), target.libvirt(), attached, strategy, uri, opId, caller.id()))
          .map(m -> {
            Run r = new Run(vm, destination, null, m);
            runs.put(vm, r);
            return r;
          });
    }
    return prepared.compose(v -> source.ready())
        .compose(src -> target.ready().compose(dst -> operations.attachedFunctions(vm).map(attached -> {
      MigrationRequest request = MigrationRequest.to(uri).withFunctions(functions(attached, strategy))
          .withParameters(parameters);
      Operation op = new Operation(opId, caller.id());
      runOperations.put(vm, op);
      runOperations.put(destination, op);
      CoordinatedMigration run = coordinator.start(
          new MigrationEndpoint(vm, OperationTrace.traced(src, vm, opId, caller.id()), hotplug),
          new MigrationEndpoint(destination, OperationTrace.traced(dst, destination, opId, caller.id()), hotplug),
          request);
      Run r = new Run(vm, destination, run);
      runs.put(vm, r);
      return r;
    })));
  }

  /**
   * Publishes a migration step on the event stream, with the operation id and caller of the
   * coordinated migration {@code vm} takes part in, as source or destination (the last one while
   * no other has started).
   */
  private void publish(MigrationEvent event) {
    PublishedMigrationEvent p = PublishedMigrationEvent.of(event);
    Operation op = runOperations.get(event.vm());
    if (op != null) {
      p.data().put("caller", op.caller());
    }
    events.publish(event.vm(), p.type(), op == null ? null : op.opId(), p.data());
  }

  /** The current or last run of {@code vm}. */
  public Optional<Run> run(String vm) {
    vms.get(vm);
    return Optional.ofNullable(runs.get(vm));
  }

  /**
   * A migration of {@code vm} that was already running when this sidecar connected to it (the
   * sidecar restarted while QEMU migrated): followed to its end, so that the DPU and the event
   * stream hear its outcome, but not coordinated (functions detached by the earlier sidecar
   * stay as they are; reconcile reports them).
   */
  public Optional<MigrationMonitor> adopted(String vm) {
    vms.get(vm);
    return Optional.ofNullable(adopted.get(vm));
  }

  /**
   * Cancels the VM's coordinated run (which rolls back) or, for a migration found running when
   * the sidecar connected, sends QEMU's {@code migrate_cancel} on its source; decided as
   * {@code migrate_cancel}.
   *
   * @return fails with {@link SidecarException}: {@code NOT_FOUND} ({@code no-migration}) when
   *     the VM has no migration to cancel, {@code CONFLICT} when {@code vm} is the destination of
   *     an adopted one, {@code DENIED}
   */
  public Future<Void> cancel(Caller caller, String vm) {
    Optional<Run> run;
    try {
      run = run(vm);
      if (run.isEmpty() && !adopted.containsKey(vm)) {
        throw SidecarException.of(Kind.NOT_FOUND, "no-migration", "VM " + vm + " has no migration to cancel")
            .vm(vm).build();
      }
      // The cancel belongs to the run it cancels: its record carries the run's operation id.
      Operation op = run.isPresent() ? runOperations.get(vm) : null;
      gate.require(new PolicyRequest(caller, "migrate_cancel", JsonNodeFactory.instance.objectNode(),
          RequestContext.of(Via.MIGRATE)),
          "cancel the migration of " + vm, vm, op != null ? op.opId() : OperationTrace.newOpId("migrate-cancel"));
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    if (run.isPresent()) {
      String state = run.get().libvirt() != null ? run.get().libvirt().state().name()
          : run.get().migration().state().name();
      if (RunStates.ENDED.contains(state)) {
        return Future.failedFuture(SidecarException.of(Kind.CONFLICT, "migration-ended", "nothing to cancel: the"
            + " migration of " + vm + " already ended " + state).vm(vm).detail("vm", vm).detail("state", state)
            .fix("qmp-sidecar migrate status " + vm + " shows it").build());
      }
      return run.get().libvirt() != null ? run.get().libvirt().cancel() : run.get().migration().cancel();
    }
    if (adopted.get(vm).role() == MigrationRole.DESTINATION) {
      return Future.failedFuture(MigrationFailures.refused(vm, List.of(), "VM " + vm
          + " is the destination of the migration; cancel it on its source"));
    }
    return vms.get(vm).ready().compose(QmpConnection::migrateCancel);
  }

  /**
   * A VM's QEMU was connected for the first time: its migration gauge is registered, and a
   * migration QEMU reports running is followed.
   */
  public void connected(String vm, QmpConnection connection) {
    metrics.gauge("qmp_sidecar_migration_remaining_bytes",
        "RAM still to send by the VM's current or last coordinated migration (-1: none or unknown)", vm, () -> Optional.ofNullable(runs.get(vm))
            .filter(r -> r.migration() != null)
            .map(r -> r.migration().sourceRecord().progress().remainingBytes()).orElse(-1L));
    adoptIfRunning(vm, connection);
  }

  private void adoptIfRunning(String vm, QmpConnection connection) {
    connection.queryMigrate().compose(info -> connection.queryStatus().map(status -> {
      if (!info.isActive() || runs.containsKey(vm)) {
        return null;
      }
      // An incoming migration's QEMU runs in state "inmigrate": that VM is the destination.
      MigrationRole role = "inmigrate".equals(status.status()) ? MigrationRole.DESTINATION : MigrationRole.SOURCE;
      MigrationMonitor monitor = new MigrationMonitor(vertx, vm, role, connection,
          MigrationMonitorOptions.defaults(), listener);
      adopted.put(vm, monitor);
      monitor.start().onSuccess(v -> listener.onEvent(new MigrationEvent.Coordination(vm, CoordinationState.MIGRATING,
          "found in progress (" + info.status() + ", " + role.name().toLowerCase() + ") when the sidecar connected;"
              + " followed, not coordinated")));
      return null;
    }));
  }

  /**
   * Live-updates {@code vm}'s QEMU to {@code binary} (null: the binary the running QEMU was
   * started from, replaced by a package upgrade), in the VM's turn; decided as the {@code migrate}
   * with main and cpr channels it sends, {@code via: live-update}.
   *
   * @return fails with {@link SidecarException}: {@code DENIED}, {@code NOT_FOUND},
   *     {@code INVALID} for a libvirt VM, and the flow's refusals and failures
   */
  public Future<LiveUpdateResult> liveUpdate(Caller caller, String vm, String binary) {
    VmHandle handle;
    String opId = OperationTrace.newOpId("live-update");
    try {
      handle = vms.get(vm);
      if (handle.libvirt() != null) {
        throw SidecarException.of(Kind.INVALID, "live-update-libvirt", "VM " + vm + " is managed by libvirt, which"
            + " starts and replaces its QEMU itself; the sidecar live-updates only VMs it reaches over QMP").vm(vm)
            .build();
      }
      gate.require(new PolicyRequest(caller, "migrate", liveUpdate.migrateArguments(vm),
          RequestContext.of(Via.LIVE_UPDATE)), "live-update VM " + vm, vm, opId);
      Run run = runs.get(vm);
      if (run != null && run.migration() != null && !run.migration().result().isComplete()) {
        throw SidecarException.of(Kind.MIGRATING, "vm-migrating", "VM " + vm + " is migrating; live-update it after"
            + " the migration ends").vm(vm).build();
      }
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    return operations.inTurn(vm, old -> operations.guard().prepare(GuardedOperation.liveUpdate(caller, vm, binary, opId))
        .compose(v -> store.list(vm))
        .compose(records -> liveUpdate.run(handle, OperationTrace.traced(old, vm, opId, caller.id()), records, binary,
            opId)));
  }

  private static List<MigratingFunction> functions(List<Attachment> attached, Strategy strategy) {
    return attached.stream().map(a -> {
      Map<String, String> props = new LinkedHashMap<>();
      a.properties().fields().forEachRemaining(f -> {
        if (!f.getKey().equals("id") && !f.getKey().equals("driver")) {
          props.put(f.getKey(), f.getValue().asText());
        }
      });
      boolean vfio = a.driver().contains("vfio");
      return new MigratingFunction(new DeviceSpec(a.id(), a.driver(), props), strategy, vfio);
    }).toList();
  }
}
