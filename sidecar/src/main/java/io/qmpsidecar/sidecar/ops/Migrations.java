package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.hotplug.Attachment;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.migration.CoordinatedMigration;
import io.qmpsidecar.sidecar.migration.CoordinationState;
import io.qmpsidecar.sidecar.migration.MigrationEvent;
import io.qmpsidecar.sidecar.migration.MigrationMonitor;
import io.qmpsidecar.sidecar.migration.MigrationMonitorOptions;
import io.qmpsidecar.sidecar.migration.MigrationRole;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.MigrationCoordinator;
import io.qmpsidecar.sidecar.migration.MigrationCoordinatorOptions;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.qmpsidecar.sidecar.migration.MigrationEndpoint;
import io.qmpsidecar.sidecar.migration.MigrationListener;
import io.qmpsidecar.sidecar.migration.MigrationParameters;
import io.qmpsidecar.sidecar.migration.MigrationRefusedException;
import io.qmpsidecar.sidecar.migration.MigrationRequest;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.qmpsidecar.sidecar.ops.OperationTrace;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.PolicyDeniedException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Coordinated migrations between VMs this sidecar serves: the caller's {@code migrate} is
 * policy-checked, every attached function follows its strategy, and each run is kept per source
 * VM so that its status can be read and it can be cancelled.
 */
public final class Migrations {
  private final Vertx vertx;
  private final VmRegistry vms;
  private final Operations operations;
  private final EventStream events;
  private final PolicyEngine policy;
  private final MigrationCoordinator coordinator;
  private final Map<String, Run> runs = new ConcurrentHashMap<>();
  private final Map<String, Operation> runOperations = new ConcurrentHashMap<>();
  private final Map<String, MigrationMonitor> adopted = new ConcurrentHashMap<>();
  private final MigrationListener listener;

  /** One run: where it goes and the coordinator's handle. */
  public record Run(String vm, String destination, CoordinatedMigration migration) {}

  /** The operation id and caller that a run's events and log lines carry. */
  record Operation(String opId, String caller) {}

  Migrations(Vertx vertx, VmRegistry vms, Operations operations, EventStream events, PolicyEngine policy,
      MigrationListener listener) {
    this.vertx = vertx;
    this.vms = vms;
    this.operations = operations;
    this.events = events;
    this.policy = policy;
    this.listener = listener;
    this.coordinator = new MigrationCoordinator(vertx, new MigrationDriver(), MigrationCoordinatorOptions.defaults(),
        listener);
  }

  /**
   * Starts migrating {@code vm} to {@code destination}, another VM of this sidecar started with
   * {@code -incoming defer}. Functions without a {@code strategy} of their own follow
   * {@code strategy}.
   *
   * @return the run; fails with {@link PolicyDeniedException} when the caller may not
   *     {@code migrate} to {@code uri}, {@link VmNotFoundException}/{@link VmUnavailableException}
   *     for either VM, and the coordinator's refusals
   */
  public Future<Run> start(Caller caller, String vm, String destination, String uri, Strategy strategy,
      MigrationParameters parameters) {
    Decision decision = policy.decide(PolicyRequest.of(caller, "migrate",
        JsonNodeFactory.instance.objectNode().put("uri", uri)));
    if (!decision.allowed()) {
      return Future.failedFuture(new PolicyDeniedException(caller.id(), "migrate " + vm + " to " + uri, decision));
    }
    String opId = OperationTrace.newOpId("migrate");
    OperationsHotplug hotplug = new OperationsHotplug(vertx, operations, events, vms, caller, opId);
    VmHandle source = vms.get(vm);
    VmHandle target = vms.get(destination);
    return source.ready().compose(src -> target.ready().compose(dst -> operations.attachments(vm).map(attached -> {
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
   * The coordinated migration {@code vm} takes part in, as source or destination (the last one
   * while no other has started), for the operation id and caller of its events.
   */
  Optional<Operation> operation(String vm) {
    return Optional.ofNullable(runOperations.get(vm));
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
   * Cancels an adopted migration with QEMU's {@code migrate_cancel} on its source; fails naming
   * the source's role when {@code vm} is the destination.
   */
  public Future<Void> cancelAdopted(String vm) {
    MigrationMonitor monitor = adopted.get(vm);
    if (monitor != null && monitor.role() == MigrationRole.DESTINATION) {
      return Future.failedFuture(new MigrationRefusedException(vm, List.of(), "VM " + vm
          + " is the destination of the migration; cancel it on its source"));
    }
    return vms.get(vm).ready().compose(QmpConnection::migrateCancel);
  }

  /** Follows {@code vm}'s migration when QEMU reports one running; called when its QEMU is first connected. */
  void adoptIfRunning(String vm, QmpConnection connection) {
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

  private static List<MigratingFunction> functions(List<Attachment> attached, Strategy strategy) {
    return attached.stream().map(a -> {
      Map<String, String> props = new LinkedHashMap<>();
      a.properties().fields().forEachRemaining(f -> {
        if (!f.getKey().equals("id") && !f.getKey().equals("driver")) {
          props.put(f.getKey(), f.getValue().asText());
        }
      });
      boolean vfio = a.driver().contains("vfio");
      return new MigratingFunction(new DeviceSpec(a.id(), a.driver(), props), strategy, vfio, false);
    }).toList();
  }
}
