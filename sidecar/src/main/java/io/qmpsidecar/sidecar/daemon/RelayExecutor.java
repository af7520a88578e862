package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.OpResult;
import io.qmpsidecar.relay.OpStage;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.VmInfo;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HostPrepException;
import io.qmpsidecar.sidecar.hotplug.Attachment;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.ops.MigrationActiveException;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.PolicyDeniedException;
import io.qmpsidecar.sidecar.ops.QemuErrorException;
import io.qmpsidecar.sidecar.ops.UnknownVmException;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The DPU's requests, run by the operations layer as caller {@code dpu}. A request is answered
 * as accepted at once; its outcome follows as {@code op.completed} or {@code op.failed} (a
 * pending detach as {@code op.progress} "pending", then {@code op.completed} when QEMU confirms).
 */
final class RelayExecutor implements RequestExecutor {
  private final Operations operations;
  private final VmRegistry vms;
  private final Consumer<Notification> notify;
  private final PendingRelayOps pending;

  RelayExecutor(Operations operations, VmRegistry vms, Consumer<Notification> notify, PendingRelayOps pending) {
    this.operations = operations;
    this.vms = vms;
    this.notify = notify;
    this.pending = pending;
  }

  @Override
  public Future<OpAccepted> attach(DeviceAttachParams r) {
    io.qmpsidecar.sidecar.hotplug.AttachRequest request;
    try {
      request = new io.qmpsidecar.sidecar.hotplug.AttachRequest(r.vm(), "vfio-pci", FunctionRef.of(Bdf.parse(r.bdf())),
          "vfio-pci", r.deviceId(), null, DeviceOptions.NONE, r.opId());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(RelayError.of(ErrorCode.INVALID_PARAMS, e.getMessage()).toException());
    }
    operations.attach(Caller.dpu(), request).onComplete(ar -> {
      if (ar.succeeded()) {
        Attachment a = ar.result();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("bdf", a.hostBdf());
        result.put("rootPort", a.rootPort());
        if (a.guestAddress() != null) {
          result.put("guestAddress", a.guestAddress());
        }
        result.put("migrationBlockedReasons", a.migrationBlockedReasons());
        notify.accept(Notification.opCompleted(r.opId(), OpResult.attached(a.vm(), a.id(), result)));
      } else {
        notify.accept(Notification.opFailed(r.opId(), error(ar.cause())));
      }
    });
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  @Override
  public Future<OpAccepted> detach(DeviceDetachParams r) {
    operations.detach(Caller.dpu(), new io.qmpsidecar.sidecar.hotplug.DetachRequest(r.vm(), r.deviceId(), false,
        r.opId())).onComplete(ar -> {
          if (ar.failed()) {
            notify.accept(Notification.opFailed(r.opId(), error(ar.cause())));
          } else if (ar.result().outcome() == DetachOutcome.PENDING) {
            // The DPU must not destroy the function yet: completion follows QEMU's DEVICE_DELETED.
            pending.add(r.opId());
            notify.accept(Notification.opProgress(r.opId(), OpStage.PENDING));
          } else if (ar.result().outcome() == DetachOutcome.REJECTED) {
            notify.accept(Notification.opFailed(r.opId(), RelayError.of(ErrorCode.GUEST_UNPLUG_TIMEOUT,
                ar.result().detail())));
          } else {
            notify.accept(Notification.opCompleted(r.opId(), ar.result().outcome() == DetachOutcome.NOT_FOUND
                ? OpResult.alreadyDetached(r.vm(), r.deviceId()) : OpResult.detached(r.vm(), r.deviceId())));
          }
        });
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  @Override
  public Future<List<DeviceInfo>> listDevices(String vm) {
    return operations.attachments(vm).map(list -> list.stream().map(RelayExecutor::info).toList());
  }

  @Override
  public Future<List<VmInfo>> listVms() {
    return Future.succeededFuture(vms.all().stream()
        .map(v -> new VmInfo(v.name(), VmInfo.UNKNOWN_STATUS,
            v.state() == QmpState.READY ? VmInfo.CONNECTED : VmInfo.DISCONNECTED)).toList());
  }

  /** Until the sidecar reconciles with QEMU, an operation cut short by a restart ends as interrupted. */
  @Override
  public Future<OpEnd> resume(UnfinishedOp op) {
    return Future.succeededFuture(OpEnd.failed(new RelayError(ErrorCode.OP_INTERRUPTED, "operation " + op.opId()
        + " was cut short by a sidecar restart; check device.list, then retry with a new opId",
        Map.of("opId", op.opId()))));
  }

  @Override
  public Future<StateSnapshot> snapshot() {
    List<Future<List<Attachment>>> all = new ArrayList<>();
    vms.all().forEach(v -> all.add(operations.attachments(v.name())));
    return Future.all(all).compose(v -> listVms().map(vmList -> {
      List<DeviceInfo> devices = new ArrayList<>();
      all.forEach(f -> f.result().forEach(a -> devices.add(info(a))));
      return new StateSnapshot(vmList, devices);
    }));
  }

  private static DeviceInfo info(Attachment a) {
    return new DeviceInfo(a.vm(), a.id(), a.hostBdf(), a.driver(), a.state().name().toLowerCase());
  }

  static RelayError error(Throwable e) {
    if (e instanceof PolicyDeniedException d) {
      return RelayError.policyDenied(d.decision().ruleId(), d.decision().reason());
    }
    if (e instanceof QemuErrorException q) {
      return RelayError.qemuError(q.errorClass(), q.description());
    }
    if (e instanceof HostPrepException) {
      return RelayError.of(ErrorCode.HOST_PREREQUISITE, e.getMessage());
    }
    if (e instanceof MigrationActiveException) {
      return RelayError.of(ErrorCode.BUSY_MIGRATING, e.getMessage());
    }
    if (e instanceof UnknownVmException || e instanceof VmNotFoundException) {
      return RelayError.of(ErrorCode.NOT_FOUND, e.getMessage());
    }
    return RelayError.of(ErrorCode.INTERNAL_ERROR, String.valueOf(e.getMessage()));
  }
}
