package io.qmpsidecar.sidecar.ops;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.AttachFlow;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.Attachment;
import io.qmpsidecar.sidecar.hotplug.DetachFlow;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.PendingDetaches;
import io.qmpsidecar.sidecar.hotplug.ReconcileReport;
import io.qmpsidecar.sidecar.hotplug.Reconciler;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where hotplug work is done; every entry point (relay, HTTP API, CLI, proxy,
 * automation) calls it with the caller it authenticated. Every call passes the policy engine
 * before anything changes. Mutating operations of one VM run one at a time in submission order,
 * with a bounded queue. Thread-safe; futures complete on Vert.x threads.
 */
public final class Operations {
  private static final Logger LOG = LoggerFactory.getLogger(Operations.class);

  /** Operations that may wait behind the running one, per VM, unless configured otherwise. */
  public static final int DEFAULT_MAX_QUEUED_PER_VM = 16;

  private record Vm(QmpConnection conn, VmQueue queue) {}

  private final PolicyEngine policy;
  private final StateStore store;
  private final int maxQueuedPerVm;
  private final AttachFlow attachFlow;
  private final DetachFlow detachFlow;
  private final Reconciler reconciler;
  private final PendingDetaches pending;
  private final Map<String, Vm> vms = new ConcurrentHashMap<>();

  public Operations(Vertx vertx, PolicyEngine policy, StateStore store, EventStream events,
      SysfsHostPrep hostPrep, HotplugOptions options, int maxQueuedPerVm) {
    if (maxQueuedPerVm < 0) {
      throw new IllegalArgumentException("maxQueuedPerVm must be >= 0, got " + maxQueuedPerVm);
    }
    this.policy = Objects.requireNonNull(policy, "policy");
    this.store = Objects.requireNonNull(store, "store");
    this.maxQueuedPerVm = maxQueuedPerVm;
    this.pending = new PendingDetaches(vertx, events, store, hostPrep, options);
    this.attachFlow = new AttachFlow(events, store, hostPrep, policy, options);
    this.detachFlow = new DetachFlow(vertx, events, store, pending, options);
    this.reconciler = new Reconciler(events, store, pending, options);
  }

  /**
   * Registers a VM and its QMP connection, and reconciles it now and after every reconnect of
   * the connection (a QEMU restart or a dropped socket).
   *
   * @return the first reconcile's report
   */
  public Future<ReconcileReport> addVm(String vm, QmpConnection conn) {
    Vm entry = new Vm(conn, new VmQueue(vm, maxQueuedPerVm));
    if (vms.putIfAbsent(vm, entry) != null) {
      throw new IllegalArgumentException("VM " + vm + " is already registered");
    }
    boolean[] lost = {false};
    conn.onStateChange(state -> {
      if (state == QmpState.DISCONNECTED) {
        lost[0] = true;
      } else if (state == QmpState.READY && lost[0]) {
        lost[0] = false;
        reconcile(vm).onFailure(e -> LOG.warn("reconcile of VM {} after reconnect failed: {}", vm,
            e.getMessage()));
      }
    });
    return reconcile(vm);
  }

  /**
   * Attaches a device (see docs/hotplug.md for the steps). A request without an operation id
   * gets one; every QMP command of the operation is logged with it (see {@link OperationTrace}).
   *
   * @return the attachment (the existing one when this repeats an earlier attach); fails with
   *     {@link UnknownVmException}, {@link VmBusyException}, {@link PolicyDeniedException},
   *     {@link MigrationActiveException}, {@link NoFreeSlotException},
   *     {@link AttachConflictException}, {@link io.qmpsidecar.sidecar.hostprep.HostPrepException},
   *     {@link QemuErrorException} (QEMU's error intact) or {@link VerificationException}; after
   *     a change, {@link OperationException#rolledBack()} lists what was undone
   */
  public Future<Attachment> attach(Caller caller, AttachRequest request) {
    Vm vm = vm(request.vm());
    AttachRequest r = request.opId() != null ? request : request.withOpId(OperationTrace.newOpId("attach"));
    return vm.queue().submit(() -> attachFlow.attach(traced(vm, r.vm(), r.opId(), caller), caller, r));
  }

  /**
   * Detaches a device. Policy: the caller must be allowed {@code device_del} of that id.
   *
   * @return {@code DETACHED}, {@code PENDING} (completion is published later as
   *     {@code device.detached}), {@code REJECTED} or {@code NOT_FOUND}; fails with
   *     {@link UnknownVmException}, {@link VmBusyException}, {@link PolicyDeniedException} or
   *     {@link QemuErrorException}
   */
  public Future<DetachResult> detach(Caller caller, DetachRequest original) {
    Vm vm = vm(original.vm());
    DetachRequest request = original.opId() != null ? original : original.withOpId(OperationTrace.newOpId("detach"));
    return vm.queue().submit(() -> {
      Decision d = policy.decide(PolicyRequest.of(caller, "device_del",
          JsonNodeFactory.instance.objectNode().put("id", request.id())));
      if (!d.allowed()) {
        return Future.failedFuture(new PolicyDeniedException(caller.id(),
            "detach " + request.id() + " from VM " + request.vm(), d));
      }
      return store.list(request.vm()).compose(stored -> detachFlow.detach(
          traced(vm, request.vm(), request.opId(), caller), caller, request,
          stored.stream().filter(a -> a.id().equals(request.id())).findFirst().orElse(null)));
    });
  }

  /** Re-reads QEMU and reports drift; queued like a mutating operation. */
  public Future<ReconcileReport> reconcile(String vmName) {
    Vm vm = vm(vmName);
    return vm.queue().submit(() -> reconciler.reconcile(vm.conn(), vmName));
  }

  /** Removals requested and not yet confirmed by QEMU, across all VMs. */
  public int pendingDetaches() {
    return pending.size();
  }

  /** The VM's stored attachments. */
  public Future<List<Attachment>> attachments(String vmName) {
    vm(vmName);
    return store.list(vmName);
  }

  /** Stops watching pending removals (their state stays stored for the next start). */
  public void close() {
    pending.close();
  }

  private static QmpConnection traced(Vm vm, String name, String opId, Caller caller) {
    return OperationTrace.traced(vm.conn(), name, opId, caller.id());
  }

  private Vm vm(String name) {
    Vm vm = vms.get(name);
    if (vm == null) {
      throw new UnknownVmException(name);
    }
    return vm;
  }
}
