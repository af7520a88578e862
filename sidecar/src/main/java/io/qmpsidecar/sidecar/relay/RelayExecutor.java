package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.OpResult;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.VmInfo;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HostMdev;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.hotplug.ReconcileReport;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.Submitted;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The DPU's requests, run by the operations layer as caller {@code dpu}, which decides them once.
 * An attach or detach is answered when it was accepted (allowed, and started) or refused; its
 * course and its end come from the event stream (see {@link DpuForwarder}), in order.
 */
final class RelayExecutor implements RequestExecutor {
  private static final Caller DPU = Caller.dpu();

  /** How often a resumed operation's VM is tried again while it is not connected yet. */
  static final long RESUME_RETRY_MS = 100;

  private final Vertx vertx;
  private final Operations operations;
  private final TrackedOps tracked;
  private final Duration resumeWait;

  /** @param resumeWait how long a resumed operation waits for its VM's connection (the host's executorTimeout) */
  RelayExecutor(Vertx vertx, Operations operations, TrackedOps tracked, Duration resumeWait) {
    this.vertx = vertx;
    this.operations = operations;
    this.tracked = tracked;
    this.resumeWait = resumeWait;
  }

  /**
   * The device id the host chooses for an attach without one: {@code dpu-} and the function's
   * address, or the mediated device's UUID.
   */
  static String chosenId(DeviceAttachParams p) {
    return "dpu-" + (p.mdev() != null ? p.mdev() : p.bdf().toLowerCase().replaceAll("[:.]", "-"));
  }

  @Override
  public Future<OpAccepted> attach(DeviceAttachParams p) {
    String deviceId = p.deviceId() != null ? p.deviceId() : chosenId(p);
    AttachRequest request;
    try {
      // An mdev belongs to its parent's driver: nothing is rebound for it.
      request = p.mdev() != null
          ? new AttachRequest(p.vm(), "vfio-pci", FunctionRef.mdev(p.mdev()), null, deviceId, null, DeviceOptions.NONE,
              p.opId())
          : new AttachRequest(p.vm(), "vfio-pci", FunctionRef.of(Bdf.parse(p.bdf())), "vfio-pci", deviceId, null,
              DeviceOptions.NONE, p.opId());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new RelayError(ErrorCode.INVALID_PARAMS, e.getMessage(),
          Map.of("member", p.mdev() != null ? "mdev" : "bdf")).toException());
    }
    TrackedOps.Op op = tracked.track(p.opId(), RelayMethods.DEVICE_ATTACH, p.vm(), deviceId);
    return answer(op, operations.submitAttach(DPU, request));
  }

  @Override
  public Future<OpAccepted> detach(DeviceDetachParams p) {
    TrackedOps.Op op = tracked.track(p.opId(), RelayMethods.DEVICE_DETACH, p.vm(), p.deviceId());
    return answer(op, operations.submitDetach(DPU, new DetachRequest(p.vm(), p.deviceId(), false, p.opId()), true));
  }

  private Future<OpAccepted> answer(TrackedOps.Op op, Submitted<?> submitted) {
    op.submitted(submitted);
    return submitted.accepted()
        .map(v -> new OpAccepted(op.opId, op.vm, op.deviceId))
        .recover(e -> {
          tracked.end(op);
          return Future.failedFuture(RelayErrors.of(e).toException());
        });
  }

  /**
   * After a restart: reconciles the VM with QEMU once it is connected (the host resumes its
   * operations as it starts, before the sidecar has reached its VMs), then tells from the records
   * how the operation ended. An attach whose device is recorded attached completed; a detach whose
   * device is gone completed (already detached); anything else did not take effect, or not yet.
   */
  @Override
  public Future<OpEnd> resume(UnfinishedOp op) {
    String vm;
    String deviceId;
    boolean attach = op.params() instanceof DeviceAttachParams;
    if (op.params() instanceof DeviceAttachParams p) {
      vm = p.vm();
      deviceId = op.accepted() != null ? op.accepted().deviceId() : p.deviceId() != null ? p.deviceId()
          : chosenId(p);
    } else {
      DeviceDetachParams p = (DeviceDetachParams) op.params();
      vm = p.vm();
      deviceId = p.deviceId();
    }
    return reconcileOnceConnected(vm, System.nanoTime() + resumeWait.toNanos()).map(report -> {
      Optional<Attachment> record = operations.recorded(vm).stream().filter(a -> a.id().equals(deviceId)).findFirst();
      if (attach) {
        return record.filter(a -> a.state() == AttachmentState.ATTACHED)
            .map(a -> OpEnd.completed(OpResult.attached(vm, deviceId, attachedDetails(a))))
            .orElseGet(() -> interrupted(op.opId(), "attach " + op.opId() + " was cut short and " + deviceId
                + " is not attached; check device.list, then attach again with a new opId"));
      }
      return record.isEmpty() ? OpEnd.completed(OpResult.alreadyDetached(vm, deviceId))
          : interrupted(op.opId(), "detach " + op.opId() + " was cut short and " + deviceId + " is still "
              + (record.get().state() == AttachmentState.DETACHING ? "being detached (the guest has not released it)"
                  : "attached") + "; detach it again with a new opId");
    });
  }

  private Future<ReconcileReport> reconcileOnceConnected(String vm, long deadlineNanos) {
    return operations.reconcile(vm).recover(e -> {
      if (!(e instanceof SidecarException s && s.kind() == Kind.UNAVAILABLE) || System.nanoTime() > deadlineNanos) {
        return Future.failedFuture(e);
      }
      Promise<ReconcileReport> again = Promise.promise();
      vertx.setTimer(RESUME_RETRY_MS, t -> reconcileOnceConnected(vm, deadlineNanos).onComplete(again));
      return again.future();
    });
  }

  /** The UUID of the mediated device the record holds, or null. */
  private static String mdev(Attachment a) {
    return HostMdev.uuidOf(a.properties().path("sysfsdev").textValue());
  }

  private static OpEnd interrupted(String opId, String message) {
    return OpEnd.failed(new RelayError(ErrorCode.OP_INTERRUPTED, message, Map.of("opId", opId)));
  }

  /** The details of an {@code attached} outcome, as documented: {@code mdev} instead of {@code bdf} for a mediated device. */
  static Map<String, Object> attachedDetails(Attachment a) {
    Map<String, Object> d = new LinkedHashMap<>();
    String mdev = mdev(a);
    if (mdev != null) {
      d.put("mdev", mdev);
    } else {
      d.put("bdf", a.hostBdf());
    }
    if (a.rootPort() != null) {
      d.put("rootPort", a.rootPort());
    }
    if (a.guestAddress() != null) {
      d.put("guestAddress", a.guestAddress());
    }
    d.put("migrationBlockedReasons", a.migrationBlockedReasons());
    return d;
  }

  @Override
  public Future<List<DeviceInfo>> listDevices(String vm) {
    Future<List<Attachment>> list = vm == null
        ? operations.allAttachments(DPU).map(all -> all.values().stream().flatMap(List::stream).toList())
        : operations.attachments(DPU, vm);
    return list.map(RelayExecutor::devices).recover(e -> Future.failedFuture(RelayErrors.of(e).toException()));
  }

  @Override
  public Future<List<VmInfo>> listVms() {
    try {
      return Future.succeededFuture(vms(operations.vms(DPU)));
    } catch (SidecarException e) {
      return Future.failedFuture(RelayErrors.of(e).toException());
    }
  }

  @Override
  public Future<StateSnapshot> snapshot() {
    return operations.snapshot(DPU)
        .map(s -> new StateSnapshot(vms(s.vms()), devices(s.attachments().values().stream().flatMap(List::stream)
            .toList())))
        .recover(e -> Future.failedFuture(RelayErrors.of(e).toException()));
  }

  private static List<VmInfo> vms(List<VmHandle> vms) {
    return vms.stream().map(v -> new VmInfo(v.name(), v.runState().orElse(VmInfo.UNKNOWN_STATUS),
        v.state() == QmpState.READY ? VmInfo.CONNECTED : VmInfo.DISCONNECTED)).toList();
  }

  /** The devices the DPU sees: attached, or being detached; an attach still running is not one yet. */
  private static List<DeviceInfo> devices(List<Attachment> attachments) {
    List<DeviceInfo> out = new ArrayList<>();
    for (Attachment a : attachments) {
      if (a.state() != AttachmentState.ATTACHING) {
        out.add(new DeviceInfo(a.vm(), a.id(), a.hostBdf(), a.driver(), a.state().name().toLowerCase(), mdev(a)));
      }
    }
    return out;
  }
}
