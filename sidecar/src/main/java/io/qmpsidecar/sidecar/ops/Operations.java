package io.qmpsidecar.sidecar.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainState;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.HotplugFacts;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.SchemaViolation;
import io.qmpsidecar.qmp.VmStatus;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.AttachFlow;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachFlow;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.PendingDetaches;
import io.qmpsidecar.sidecar.hotplug.ReconcileReport;
import io.qmpsidecar.sidecar.hotplug.Reconciler;
import io.qmpsidecar.sidecar.libvirt.LibvirtAttachFlow;
import io.qmpsidecar.sidecar.libvirt.LibvirtDetachFlow;
import io.qmpsidecar.sidecar.libvirt.LibvirtMigrationObserver;
import io.qmpsidecar.sidecar.libvirt.LibvirtPassthrough;
import io.qmpsidecar.sidecar.libvirt.LibvirtReconciler;
import io.qmpsidecar.sidecar.libvirt.LibvirtRemovals;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where work on a VM is done and where the policy decides, once per request:
 * every entry point (relay, HTTP API, CLI, proxy, automation) calls it with the caller it
 * authenticated. Mutating operations of one VM run one at a time in submission order, with a
 * bounded queue. Every failure is a {@link SidecarException}. Thread-safe; futures complete on
 * Vert.x threads.
 */
public final class Operations {
  private static final Logger LOG = LoggerFactory.getLogger(Operations.class);
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /** How often a VM whose record the store could not write is reconciled, until it can be. */
  static final Duration REPAIR_INTERVAL = Duration.ofSeconds(5);

  /** Operations that may wait behind the running one, per VM, unless configured otherwise. */
  public static final int DEFAULT_MAX_QUEUED_PER_VM = 16;

  private final VmRegistry vms;
  private final PolicyGate gate;
  private final StateStore store;
  private final SidecarMetrics metrics;
  private final int maxQueuedPerVm;
  private final AttachFlow attachFlow;
  private final DetachFlow detachFlow;
  private final Reconciler reconciler;
  private final PendingDetaches pending;
  private final EventStream events;
  private final LibvirtAttachFlow libvirtAttach;
  private final LibvirtDetachFlow libvirtDetach;
  private final LibvirtReconciler libvirtReconciler;
  private final LibvirtRemovals libvirtRemovals;
  private final Map<String, VmQueue> queues = new ConcurrentHashMap<>();
  /** VMs whose record the store could not write: reconciled until it can. */
  private final Set<String> repairing = ConcurrentHashMap.newKeySet();
  private final Vertx vertx;

  public Operations(Vertx vertx, VmRegistry vms, PolicyGate gate, StateStore store, EventStream events,
      SysfsHostPrep hostPrep, HotplugOptions options, SidecarMetrics metrics, int maxQueuedPerVm) {
    if (maxQueuedPerVm < 0) {
      throw new IllegalArgumentException("maxQueuedPerVm must be >= 0, got " + maxQueuedPerVm);
    }
    this.vertx = vertx;
    this.vms = Objects.requireNonNull(vms, "vms");
    this.gate = Objects.requireNonNull(gate, "gate");
    this.store = Objects.requireNonNull(store, "store");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.maxQueuedPerVm = maxQueuedPerVm;
    this.pending = new PendingDetaches(vertx, events, store, hostPrep, options);
    this.attachFlow = new AttachFlow(events, store, hostPrep, this::authorizeAttach, options);
    this.detachFlow = new DetachFlow(vertx, events, store, pending, options);
    this.reconciler = new Reconciler(events, store, pending, hostPrep, options);
    store.onWriteFailure(this::repairLater);
    this.events = events;
    this.libvirtRemovals = new LibvirtRemovals(vertx, events, store, hostPrep, options);
    this.libvirtAttach = new LibvirtAttachFlow(events, store, hostPrep, this::authorizeAttach);
    this.libvirtDetach = new LibvirtDetachFlow(vertx, events, store, libvirtRemovals, options);
    this.libvirtReconciler = new LibvirtReconciler(events, store, libvirtRemovals);
    metrics.gauge("hotplug_pending_unplugs", "removals requested and not yet confirmed by QEMU",
        () -> pending.size() + libvirtRemovals.size());
  }

  /**
   * Reconciles a libvirt VM whose domain was found for the first time, and again each time it is
   * found anew (libvirtd reconnected, the domain started again).
   *
   * @return the first reconcile's report
   */
  public Future<ReconcileReport> connected(LibvirtDomain domain) {
    LibvirtMigrationObserver.watch(domain, events);
    domain.onReconnected(() -> reconcile(domain.vm())
        .onFailure(e -> LOG.warn("reconcile of VM {} after libvirt reconnect failed: {}", domain.vm(), e.getMessage())));
    return reconcile(domain.vm());
  }

  /**
   * Reconciles a VM whose QEMU was connected for the first time, and again after every reconnect
   * of its connection (a QEMU restart or a dropped socket).
   *
   * @return the first reconcile's report
   */
  public Future<ReconcileReport> connected(String vm, QmpConnection conn) {
    boolean[] lost = {false};
    conn.onStateChange(state -> {
      if (state == QmpState.DISCONNECTED) {
        lost[0] = true;
      } else if (state == QmpState.READY && lost[0]) {
        lost[0] = false;
        reconcile(vm).onFailure(e -> LOG.warn("reconcile of VM {} after reconnect failed: {}", vm, e.getMessage()));
      }
    });
    return reconcile(vm);
  }

  /**
   * Attaches a device (see docs/hotplug.md for the steps); the policy decides once the flow has
   * resolved the host function's facts and the placement. A request without an operation id gets
   * one; every QMP command of the operation is logged with it (see {@link OperationTrace}).
   *
   * @return the attachment (the existing one when this repeats an earlier attach); fails with
   *     {@link SidecarException} (after a change, {@link SidecarException#rolledBack()} lists what
   *     was undone)
   */
  public Future<Attachment> attach(Caller caller, AttachRequest request) {
    AttachRequest r = request.opId() != null ? request : request.withOpId(OperationTrace.newOpId("attach"));
    if (isLibvirt(r.vm())) {
      return onLibvirt(r.vm(), d -> libvirtAttach.attach(d, caller, r));
    }
    return onVm(r.vm(), conn -> attachFlow.attach(OperationTrace.traced(conn, r.vm(), r.opId(), caller.id()), caller, r));
  }

  /**
   * Detaches a device. Policy: the caller must be allowed {@code device_del} of that id; it is
   * decided at once, so a refusal (unknown VM, denied) fails the returned future before this
   * method returns, and an accepted detach then waits for its turn in the VM's queue.
   *
   * @return {@code DETACHED}, {@code PENDING} (completion is published later as
   *     {@code device.detached}), {@code REJECTED} or {@code NOT_FOUND}; fails with
   *     {@link SidecarException}
   */
  public Future<DetachResult> detach(Caller caller, DetachRequest original) {
    DetachRequest request = original.opId() != null ? original : original.withOpId(OperationTrace.newOpId("detach"));
    try {
      vms.get(request.vm());
      gate.require(PolicyRequest.of(caller, "device_del", JSON.objectNode().put("id", request.id())),
          "detach " + request.id() + " from VM " + request.vm());
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    if (isLibvirt(request.vm())) {
      return onLibvirt(request.vm(), d -> store.list(request.vm()).compose(stored -> libvirtDetach.detach(d, caller,
          request, stored.stream().filter(a -> a.id().equals(request.id())).findFirst().orElse(null))));
    }
    return onVm(request.vm(), conn -> {
      return store.list(request.vm()).compose(stored -> detachFlow.detach(
          OperationTrace.traced(conn, request.vm(), request.opId(), caller.id()), caller, request,
          stored.stream().filter(a -> a.id().equals(request.id())).findFirst().orElse(null)));
    });
  }

  /** Re-reads QEMU and reports drift; queued like a mutating operation. */
  public Future<ReconcileReport> reconcile(String vm) {
    if (isLibvirt(vm)) {
      return onLibvirt(vm, libvirtReconciler::reconcile);
    }
    return onVm(vm, conn -> reconciler.reconcile(conn, vm));
  }

  /**
   * The VM's stored attachments; decided as {@code query-pci}.
   *
   * @return fails with {@link SidecarException} ({@code NOT_FOUND} for an unknown VM)
   */
  public Future<List<Attachment>> attachments(Caller caller, String vm) {
    try {
      vms.get(vm);
      gate.require(PolicyRequest.of(caller, "query-pci", JSON.objectNode()), "list the devices of VM " + vm);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    return store.list(vm);
  }

  /** The stored attachments of every VM, by VM name in the registry's order; decided once as {@code query-pci}. */
  public Future<Map<String, List<Attachment>>> allAttachments(Caller caller) {
    try {
      gate.require(PolicyRequest.of(caller, "query-pci", JSON.objectNode()), "list the devices of every VM");
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    List<String> names = vms.all().stream().map(VmHandle::name).toList();
    List<Future<List<Attachment>>> lists = new ArrayList<>();
    names.forEach(n -> lists.add(store.list(n)));
    return Future.all(lists).map(v -> {
      Map<String, List<Attachment>> out = new LinkedHashMap<>();
      for (int i = 0; i < names.size(); i++) {
        out.put(names.get(i), lists.get(i).result());
      }
      return out;
    });
  }

  /**
   * The VMs this sidecar serves, with their connection state; decided as {@code query-status}.
   *
   * @throws SidecarException {@code DENIED} or {@code THROTTLED}
   */
  public List<VmHandle> vms(Caller caller) {
    gate.require(PolicyRequest.of(caller, "query-status", JSON.objectNode()), "list the VMs");
    return List.copyOf(vms.all());
  }

  /**
   * One VM's handle, for an entry point that renders what the caller was just allowed to read.
   *
   * @throws SidecarException {@code NOT_FOUND}
   */
  public VmHandle vm(String name) {
    return vms.get(name);
  }

  /** Every VM and every stored attachment, for the DPU's {@code state.snapshot}; decided once as {@code query-pci}. */
  public Future<Snapshot> snapshot(Caller caller) {
    return allAttachments(caller).map(all -> new Snapshot(List.copyOf(vms.all()), all));
  }

  /** The VMs this sidecar serves and their stored attachments, by VM. */
  public record Snapshot(List<VmHandle> vms, Map<String, List<Attachment>> attachments) {}

  /**
   * QEMU's run state of a VM; decided as {@code query-status}.
   *
   * @return fails with {@link SidecarException} ({@code NOT_FOUND}, {@code UNAVAILABLE}, ...)
   */
  public Future<VmStatus> status(Caller caller, String vm) {
    VmHandle handle;
    try {
      handle = vms.get(vm);
      gate.require(PolicyRequest.of(caller, "query-status", JSON.objectNode()), "read the status of VM " + vm);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    if (handle.libvirt() != null) {
      return handle.libvirt().runState().map(Operations::status).recover(Operations::translated);
    }
    return handle.ready().compose(QmpConnection::queryStatus).recover(Operations::translated);
  }

  /** libvirt's domain state in QEMU's run-state words. */
  private static VmStatus status(DomainState s) {
    return switch (s) {
      case RUNNING, BLOCKED -> new VmStatus("running", true);
      case PAUSED -> new VmStatus("paused", false);
      case SHUTDOWN, SHUTOFF -> new VmStatus("shutdown", false);
      case CRASHED -> new VmStatus("guest-panicked", false);
      case PMSUSPENDED -> new VmStatus("suspended", false);
      case NOSTATE -> new VmStatus("unknown", false);
    };
  }

  /**
   * A QMP command a caller sends through: decided as sent, then, when allowed, run unchanged
   * (validated against QEMU's schema first when {@code validate}).
   *
   * @param arguments the command's arguments, or null when it has none
   *
   * @return QEMU's {@code return} value; fails with {@link SidecarException}: {@code DENIED},
   *     {@code INVALID} ({@code schema-violation}) or {@code QEMU_ERROR} with QEMU's class and text
   */
  public Future<JsonNode> passthrough(Caller caller, String vm, String command, ObjectNode arguments, boolean validate) {
    return passthrough(caller, vm, command, arguments, validate, false);
  }

  /**
   * {@link #passthrough(Caller, String, String, ObjectNode, boolean)}; on a VM managed by libvirt
   * only when its configuration enables passthrough, only {@code query-*} commands, and only with
   * {@code acceptTaint}: libvirt marks the domain tainted ({@code custom-monitor}) at the first
   * command, so a call without it fails with {@code CONFLICT} ({@code libvirt-taints}) saying so
   * before anything is sent.
   */
  public Future<JsonNode> passthrough(Caller caller, String vm, String command, ObjectNode arguments, boolean validate,
      boolean acceptTaint) {
    VmHandle handle;
    try {
      handle = vms.get(vm);
      gate.require(PolicyRequest.of(caller, command, arguments), "run " + command + " on VM " + vm);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    if (handle.libvirt() != null) {
      long t0 = System.nanoTime();
      return LibvirtPassthrough.run(handle.libvirt(), command, arguments, acceptTaint)
          .onComplete(ar -> metrics.qmpCommand(vm, command, ar.succeeded() ? "ok" : SidecarException.from(ar.cause()).code(),
              Duration.ofNanos(System.nanoTime() - t0)))
          .recover(Operations::translated);
    }
    long start = System.nanoTime();
    return handle.ready()
        .compose(c -> validate ? c.schema().map(s -> checkSchema(s.validate(command, arguments))).map(v -> c)
            : Future.succeededFuture(c))
        .compose(c -> c.execute(QmpCommand.raw(command, arguments)))
        .onComplete(ar -> metrics.qmpCommand(vm, command, ar.succeeded() ? "ok" : outcome(ar.cause()),
            Duration.ofNanos(System.nanoTime() - start)))
        .recover(Operations::translated);
  }

  /**
   * Decides a request that an entry point runs itself over the VM's shared connection (the QMP
   * proxy), exactly once: audited, rate-limited and counted here.
   */
  public Decision decide(PolicyRequest request) {
    return gate.decide(request);
  }

  /** The VM's stored attachments, for a flow that was already decided (a migration's functions). */
  Future<List<Attachment>> attachedFunctions(String vm) {
    return store.list(vm);
  }

  /** The state store, for a flow that was already decided (a libvirt migration moves its records). */
  StateStore store() {
    return store;
  }

  /** The VM's connection when it is ready, for a flow that was already decided. */
  Future<QmpConnection> connection(String vm) {
    try {
      return vms.get(vm).ready();
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
  }

  /** Removals requested and not yet confirmed by QEMU, across all VMs. */
  public int pendingDetaches() {
    return pending.size() + libvirtRemovals.size();
  }

  /** Stops watching pending removals (their state stays stored for the next start). */
  public void close() {
    pending.close();
    libvirtRemovals.close();
  }

  /** Whether the VM is managed by libvirt (an unknown VM is not: its flow fails with NOT_FOUND). */
  boolean isLibvirt(String vm) {
    try {
      return vms.get(vm).libvirt() != null;
    } catch (SidecarException e) {
      return false;
    }
  }

  /** The libvirt VM's domain, for a flow that was already decided. */
  Future<LibvirtDomain> libvirtDomain(String vm) {
    try {
      LibvirtDomain d = vms.get(vm).libvirt();
      return d != null ? Future.succeededFuture(d) : Future.failedFuture(SidecarException.of(Kind.CONFLICT,
          "not-libvirt", "VM " + vm + " is not managed by libvirt").vm(vm).build());
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
  }

  /** Runs {@code work} in the libvirt VM's queue once its domain is reachable. */
  <T> Future<T> onLibvirt(String vm, java.util.function.Function<LibvirtDomain, Future<T>> work) {
    LibvirtDomain domain = vms.get(vm).libvirt();
    VmQueue queue = queues.computeIfAbsent(vm, name -> new VmQueue(name, maxQueuedPerVm));
    return queue.submit(() -> domain.domain().compose(d -> work.apply(domain))).recover(Operations::translated);
  }

  private void authorizeAttach(Caller caller, String what, ObjectNode arguments, Optional<HotplugFacts> facts) {
    gate.require(new PolicyRequest(caller, "device_add", arguments, facts), what);
  }

  /** Runs {@code work} in the VM's queue on its ready connection. */
  private <T> Future<T> onVm(String vm, java.util.function.Function<QmpConnection, Future<T>> work) {
    VmHandle handle;
    try {
      handle = vms.get(vm);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    VmQueue queue = queues.computeIfAbsent(vm, name -> new VmQueue(name, maxQueuedPerVm));
    return queue.submit(() -> handle.ready().compose(work)).recover(Operations::translated);
  }

  /**
   * The store could not write a record of {@code vm} (a full disk): a reconcile every
   * {@link #REPAIR_INTERVAL} until one succeeds brings the record back in line with QEMU.
   */
  private void repairLater(String vm) {
    if (repairing.add(vm)) {
      vertx.setTimer(REPAIR_INTERVAL.toMillis(), t -> reconcile(vm).onComplete(ar -> {
        repairing.remove(vm);
        if (ar.failed()) {
          LOG.warn("VM {}: the state store still fails ({}); reconciling again in {} s", vm,
              ar.cause().getMessage(), REPAIR_INTERVAL.toSeconds());
          repairLater(vm);
        } else {
          LOG.info("VM {}: the state store works again; its record is reconciled with QEMU", vm);
        }
      }));
    }
  }

  private static <T> Future<T> translated(Throwable e) {
    return Future.failedFuture(SidecarException.from(e));
  }

  private static Void checkSchema(List<SchemaViolation> violations) {
    if (!violations.isEmpty()) {
      List<Map<String, String>> list = violations.stream()
          .map(v -> Map.of("path", v.path(), "message", v.message())).toList();
      throw SidecarException.of(Kind.INVALID, "schema-violation", "the command does not fit QEMU's schema: "
          + violations.size() + " problem(s): " + violations).detail("violations", list).build();
    }
    return null;
  }

  private static String outcome(Throwable e) {
    return e instanceof QmpCommandException q ? q.errorClass() : e.getClass().getSimpleName();
  }
}
