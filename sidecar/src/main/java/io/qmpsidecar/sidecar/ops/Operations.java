package io.qmpsidecar.sidecar.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainState;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.policy.RequestContext;
import io.qmpsidecar.policy.Via;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.SchemaViolation;
import io.qmpsidecar.qmp.VmStatus;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.QemuProcessLookup;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.AttachAuthorizer;
import io.qmpsidecar.sidecar.hotplug.AttachFlow;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachFlow;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.PendingDetaches;
import io.qmpsidecar.sidecar.hotplug.ReleaseGate;
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
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
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

  /** The fact set of the ids a VM's records show attached. */
  public static final String ATTACHED = "attached";
  /** The fact set of the ids a VM's records show attached by the caller of the request. */
  public static final String ATTACHED_BY_CALLER = "attached-by-caller";
  private static final String PERIPHERAL = "/machine/peripheral";

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
  private final OperationGuard guard;
  private final Map<String, VmQueue> queues = new ConcurrentHashMap<>();
  /** VMs whose record the store could not write: reconciled until it can. */
  private final Set<String> repairing = ConcurrentHashMap.newKeySet();
  private final Vertx vertx;

  /** Operations that no guard is asked about ({@link OperationGuard#NONE}). */
  public Operations(Vertx vertx, VmRegistry vms, PolicyGate gate, StateStore store, EventStream events,
      SysfsHostPrep hostPrep, HotplugOptions options, SidecarMetrics metrics, int maxQueuedPerVm) {
    this(vertx, vms, gate, store, events, hostPrep, options, metrics, maxQueuedPerVm, OperationGuard.NONE);
  }

  /**
   * @param guard asked before every attach, detach and migration, in the VM's turn (the daemon's
   *     {@code prepare} hooks)
   */
  public Operations(Vertx vertx, VmRegistry vms, PolicyGate gate, StateStore store, EventStream events,
      SysfsHostPrep hostPrep, HotplugOptions options, SidecarMetrics metrics, int maxQueuedPerVm,
      OperationGuard guard) {
    this(vertx, vms, gate, store, events, hostPrep, options, metrics, maxQueuedPerVm, guard, null);
  }

  /**
   * @param processes where the release of a removed VFIO function is watched
   *     ({@link ReleaseGate.Processes}); null: this host's, through the VMs' monitor sockets
   */
  public Operations(Vertx vertx, VmRegistry vms, PolicyGate gate, StateStore store, EventStream events,
      SysfsHostPrep hostPrep, HotplugOptions options, SidecarMetrics metrics, int maxQueuedPerVm,
      OperationGuard guard, ReleaseGate.Processes processes) {
    if (maxQueuedPerVm < 0) {
      throw new IllegalArgumentException("maxQueuedPerVm must be >= 0, got " + maxQueuedPerVm);
    }
    this.vertx = vertx;
    this.vms = Objects.requireNonNull(vms, "vms");
    this.gate = Objects.requireNonNull(gate, "gate");
    this.store = Objects.requireNonNull(store, "store");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.maxQueuedPerVm = maxQueuedPerVm;
    this.guard = Objects.requireNonNull(guard, "guard");
    ReleaseGate releases = new ReleaseGate(vertx, events, hostPrep, processes != null ? processes
        : ReleaseGate.onThisHost(new QemuProcessLookup(Path.of("/proc")), this::monitorSocket, this::connectedPid,
            hostPrep.releaseCheck()),
        store::recorded,
        options.releaseWait());
    this.pending = new PendingDetaches(vertx, events, store, hostPrep, releases, options);
    this.attachFlow = new AttachFlow(vertx, events, store, hostPrep, options);
    this.detachFlow = new DetachFlow(vertx, events, store, pending, options);
    this.reconciler = new Reconciler(vertx, events, store, pending, hostPrep, options);
    store.onWriteFailure(this::repairLater);
    this.events = events;
    this.libvirtRemovals = new LibvirtRemovals(vertx, events, store, hostPrep, options);
    this.libvirtAttach = new LibvirtAttachFlow(events, store, hostPrep);
    this.libvirtDetach = new LibvirtDetachFlow(vertx, events, store, libvirtRemovals, options);
    this.libvirtReconciler = new LibvirtReconciler(events, store, libvirtRemovals, hostPrep);
    metrics.gauge("qmp_sidecar_hotplug_pending_unplugs", "removals requested and not yet confirmed by QEMU",
        () -> pending.size() + libvirtRemovals.size());
  }

  /** The pid of the QEMU at the other end of the VM's monitor connection, if connected and known. */
  private OptionalLong connectedPid(String vm) {
    Future<QmpConnection> ready = vms.get(vm).ready();
    return ready.succeeded() ? ready.result().peer().map(p -> OptionalLong.of(p.pid())).orElse(OptionalLong.empty())
        : OptionalLong.empty();
  }

  /** The Unix socket of the VM's QMP monitor, whose listener is its QEMU; empty for TCP and libvirt. */
  private Optional<Path> monitorSocket(String vm) {
    VmHandle handle = vms.get(vm);
    return handle.libvirt() == null && handle.address().isUnix() ? Optional.of(handle.address().unixPath())
        : Optional.empty();
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
   * one; every QMP command of the operation is logged with it (see {@link OperationTrace}). In the
   * VM's turn, before the flow starts, the guard is asked.
   *
   * @return the attachment (the existing one when this repeats an earlier attach); fails with
   *     {@link SidecarException} (after a change, {@link SidecarException#rolledBack()} lists what
   *     was undone)
   */
  public Future<Attachment> attach(Caller caller, AttachRequest request) {
    return submitAttach(caller, request).done();
  }

  /**
   * {@link #attach}, telling apart a refusal from a failure: {@link Submitted#accepted()}
   * completes once the policy allowed the attach, before the host or QEMU is touched (a refusal
   * before that: unknown VM, migrating, host prerequisite, busy queue, denied), and
   * {@link Submitted#done()} with its end.
   */
  public Submitted<Attachment> submitAttach(Caller caller, AttachRequest request) {
    AttachRequest r = request.opId() != null ? request : request.withOpId(OperationTrace.newOpId("attach"));
    Promise<Void> accepted = Promise.promise();
    AttachAuthorizer authorizer = (c, what, arguments, facts) -> {
      RequestContext context = RequestContext.of(Via.ATTACH);
      gate.require(new PolicyRequest(c, "device_add", arguments, facts.map(context::withHotplug).orElse(context)),
          what, r.vm(), r.opId());
      accepted.tryComplete();
    };
    // In the VM's turn the guard is asked first, before the flow reads the host or decides.
    GuardedOperation guarded = GuardedOperation.attach(caller, r);
    Future<Attachment> done = isLibvirt(r.vm())
        ? onLibvirt(r.vm(), d -> guard.prepare(guarded).compose(v -> libvirtAttach.attach(d, caller, r, authorizer)))
        : onVm(r.vm(), conn -> guard.prepare(guarded).compose(v -> attachFlow.attach(
            OperationTrace.traced(conn, r.vm(), r.opId(), caller.id()), caller, r, authorizer)));
    done.onComplete(ar -> {
      if (ar.failed()) {
        accepted.tryFail(ar.cause());
      }
    });
    return new Submitted<>(accepted.future(), done);
  }

  /**
   * Detaches a device. Refused at once (the returned future fails) when the VM does not exist
   * ({@code NOT_FOUND}) or the policy denies {@code device_del} of that id, decided with the
   * facts {@code attached} (the ids the records show attached to the VM) and
   * {@code attached-by-caller} (those the caller attached); an accepted detach then waits for its
   * turn in the VM's queue. Idempotent: a device QEMU does not have is the outcome
   * {@code NOT_FOUND}.
   *
   * @return {@code DETACHED}, {@code PENDING} (completion is published later as
   *     {@code device.detached}), {@code REJECTED} or {@code NOT_FOUND}; fails with
   *     {@link SidecarException}
   */
  public Future<DetachResult> detach(Caller caller, DetachRequest request) {
    return submitDetach(caller, request, false).done();
  }

  /**
   * {@link #detach}, telling apart a refusal from a failure: {@link Submitted#accepted()}
   * completes when the detach starts in the VM's turn (once the guard let it), {@link Submitted#done()}
   * with its end.
   *
   * @param mustExist refuse, before the policy decides, a device that is neither recorded nor in
   *     QEMU ({@code NOT_FOUND} with the details {@code vm} and {@code device}), as the DPU link
   *     promises, instead of the idempotent outcome {@code NOT_FOUND}
   */
  public Submitted<DetachResult> submitDetach(Caller caller, DetachRequest original, boolean mustExist) {
    DetachRequest request = original.opId() != null ? original : original.withOpId(OperationTrace.newOpId("detach"));
    String vm = request.vm();
    String id = request.id();
    Promise<Void> accepted = Promise.promise();
    Future<DetachResult> done;
    try {
      VmHandle handle = vms.get(vm);
      List<Attachment> recorded = store.recorded(vm);
      Future<Void> exists = !mustExist || record(vm, id) != null ? Future.succeededFuture()
          : inVm(handle, id).compose(found -> found ? Future.<Void>succeededFuture()
              : Future.failedFuture(noSuchDevice(vm, id)));
      done = exists.compose(v -> {
        gate.require(new PolicyRequest(caller, "device_del", JSON.objectNode().put("id", id),
            facts(RequestContext.of(Via.DETACH), caller, recorded)), "detach " + id + " from VM " + vm, vm,
            request.opId());
        // In its turn the detach reads the record again: an operation before it may have changed it.
        GuardedOperation guarded = GuardedOperation.detach(caller, request);
        if (isLibvirt(vm)) {
          return onLibvirt(vm, d -> guard.prepare(guarded).compose(g -> {
            accepted.tryComplete();
            return libvirtDetach.detach(d, caller, request, record(vm, id));
          }));
        }
        return onVm(vm, conn -> guard.prepare(guarded).compose(g -> {
          accepted.tryComplete();
          return detachFlow.detach(OperationTrace.traced(conn, vm, request.opId(), caller.id()), caller, request,
              record(vm, id));
        }));
      }).recover(Operations::translated);
    } catch (SidecarException e) {
      done = Future.failedFuture(e);
    }
    done.onComplete(ar -> {
      if (ar.failed()) {
        accepted.tryFail(ar.cause());
      }
    });
    return new Submitted<>(accepted.future(), done);
  }

  private Attachment record(String vm, String id) {
    return store.recorded(vm).stream().filter(a -> a.id().equals(id)).findFirst().orElse(null);
  }

  /** Whether the VM has device {@code id}: in QEMU's {@code /machine/peripheral}, or a libvirt domain's live XML. */
  private static Future<Boolean> inVm(VmHandle handle, String id) {
    return handle.libvirt() != null
        ? handle.libvirt().liveXml().map(xml -> LibvirtDetachFlow.aliasOf(xml, id) != null)
        : handle.ready().compose(c -> c.qomList(PERIPHERAL))
            .map(props -> props.stream().anyMatch(p -> p.name().equals(id)));
  }

  private static SidecarException noSuchDevice(String vm, String id) {
    return SidecarException.of(Kind.NOT_FOUND, "device-not-found", vm + " has no device " + id).vm(vm)
        .detail("vm", vm).detail("device", id)
        .fix("list the VM's devices (qmp-sidecar devices list " + vm + ") and use one of their ids").build();
  }

  /**
   * The fact sets the policy reads about a VM's devices: {@code attached}, the ids its records
   * show attached (or being detached), and {@code attached-by-caller}, those {@code caller}
   * attached.
   */
  private static RequestContext facts(RequestContext context, Caller caller, List<Attachment> recorded) {
    List<Attachment> held = recorded.stream().filter(a -> a.state() != AttachmentState.ATTACHING).toList();
    return context.withFacts(ATTACHED, held.stream().map(Attachment::id).toList())
        .withFacts(ATTACHED_BY_CALLER, held.stream().filter(a -> caller.id().equals(a.attachedBy()))
            .map(Attachment::id).toList());
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
   * (validated against QEMU's schema first when {@code validate}). Its audit record and the log
   * line of the command carry {@code vm} and an operation id of its own ({@code qmp-…}).
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
    String opId = OperationTrace.newOpId("qmp");
    try {
      handle = vms.get(vm);
      gate.require(passthroughRequest(vm, caller, command, arguments), "run " + command + " on VM " + vm, vm, opId);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    return run(handle, vm, opId, caller.id(), command, arguments, validate, acceptTaint);
  }

  /**
   * A QMP command whose request was made elsewhere (an automation rule's action, as the policy
   * engine built it, {@code via: automation}): decided once, here, in its own context with the
   * facts of the VM's records (see {@link #detach}), then, when allowed, run unchanged (on a VM
   * managed by libvirt, as a passthrough without {@code acceptTaint}). Its audit record and the
   * log line of the command carry {@code vm} and {@code opId}.
   *
   * @return QEMU's {@code return} value; fails with {@link SidecarException}: {@code DENIED},
   *     {@code THROTTLED}, {@code INVALID} (arguments that are not an object) or
   *     {@code QEMU_ERROR} with QEMU's class and text
   */
  public Future<JsonNode> command(String vm, String opId, PolicyRequest request) {
    VmHandle handle;
    try {
      if (!request.arguments().isObject()) {
        throw Failures.badRequest("the arguments of " + request.command() + " must be a JSON object");
      }
      handle = vms.get(vm);
      gate.require(request.with(facts(request.context(), request.caller(), store.recorded(vm))),
          "run " + request.command() + " on VM " + vm, vm, opId);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    return run(handle, vm, opId, request.caller().id(), request.command(), (ObjectNode) request.arguments(), false,
        false);
  }

  /**
   * Runs a command that was already decided, with {@code arguments} (null: none) as sent, logged
   * as operation {@code opId} of {@code caller}.
   */
  private Future<JsonNode> run(VmHandle handle, String vm, String opId, String caller, String command,
      ObjectNode arguments, boolean validate, boolean acceptTaint) {
    if (handle.libvirt() != null) {
      long t0 = System.nanoTime();
      return LibvirtPassthrough.run(handle.libvirt(), command, arguments, acceptTaint)
          .onComplete(ar -> metrics.qmpCommand(vm, command, ar.succeeded() ? "ok" : outcome(ar.cause()),
              Duration.ofNanos(System.nanoTime() - t0)))
          .recover(Operations::translated);
    }
    long start = System.nanoTime();
    return handle.ready().map(c -> OperationTrace.traced(c, vm, opId, caller))
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

  /**
   * Decides a client's QMP command for {@code vm} that an entry point runs itself (the QMP
   * proxy), exactly once, with the facts of the VM's records (see {@link #detach}); its audit
   * record carries {@code vm} and an operation id of its own ({@code qmp-…}).
   */
  public Decision decidePassthrough(String vm, Caller caller, String command, ObjectNode arguments) {
    return gate.decide(passthroughRequest(vm, caller, command, arguments), vm, OperationTrace.newOpId("qmp"));
  }

  private PolicyRequest passthroughRequest(String vm, Caller caller, String command, ObjectNode arguments) {
    return new PolicyRequest(caller, command, arguments == null ? JSON.objectNode() : arguments,
        facts(RequestContext.PASSTHROUGH, caller, store.recorded(vm)));
  }

  /** The VM's stored attachments, for a flow that was already decided (a migration's functions). */
  Future<List<Attachment>> attachedFunctions(String vm) {
    return store.list(vm);
  }

  /**
   * The VM's records as last written, without a decision: for an entry point's own bookkeeping
   * (the DPU link's scope, the end of an operation cut short by a restart), never to answer a
   * caller, whose reads {@link #attachments} decides.
   */
  public List<Attachment> recorded(String vm) {
    return store.recorded(vm);
  }

  /** {@link #recorded(String)} of every VM the sidecar serves. */
  public List<Attachment> recorded() {
    return vms.all().stream().flatMap(v -> store.recorded(v.name()).stream()).toList();
  }

  /** The guard a migration asks before it starts. */
  OperationGuard guard() {
    return guard;
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

  /** Runs {@code work} in the VM's turn, after the attaches, detaches and updates queued before it. */
  <T> Future<T> inTurn(String vm, java.util.function.Function<QmpConnection, Future<T>> work) {
    return onVm(vm, work);
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

  /**
   * A failed command's {@code outcome} label: QEMU's error class (also when libvirt passed QEMU's
   * refusal on), or the sidecar's stable code of the failure (e.g. {@code qemu-timeout}), never a
   * Java class name.
   */
  static String outcome(Throwable e) {
    if (e instanceof QmpCommandException q) {
      return q.errorClass();
    }
    SidecarException failure = SidecarException.from(e);
    return failure.detail("qemu") instanceof Map<?, ?> qemu && qemu.get("class") instanceof String c && !c.isEmpty()
        ? c : failure.code();
  }
}
