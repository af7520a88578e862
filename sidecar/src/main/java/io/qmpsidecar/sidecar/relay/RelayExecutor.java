package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.relay.AttachRequest;
import io.qmpsidecar.relay.DetachRequest;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.VmInfo;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The DPU's requests, run by the operations layer as caller {@code dpu}, which decides them. A
 * request refused before it starts (invalid, unknown VM, denied) is answered with its error; an
 * accepted one ends later with {@code op.completed} or {@code op.failed} (a pending detach first
 * gets {@code op.progress} "pending", then {@code op.completed} when QEMU confirms).
 */
final class RelayExecutor implements RequestExecutor {
  private static final Caller DPU = Caller.dpu();

  private final Operations operations;
  private final Consumer<Notification> notify;
  private final PendingRelayOps pending;

  RelayExecutor(Operations operations, Consumer<Notification> notify, PendingRelayOps pending) {
    this.operations = operations;
    this.notify = notify;
    this.pending = pending;
  }

  @Override
  public Future<OpAccepted> attach(AttachRequest r) {
    io.qmpsidecar.sidecar.hotplug.AttachRequest request;
    try {
      request = new io.qmpsidecar.sidecar.hotplug.AttachRequest(r.vm(), "vfio-pci", FunctionRef.of(Bdf.parse(r.bdf())),
          "vfio-pci", r.deviceId(), null, DeviceOptions.NONE, r.opId());
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(RelayError.of(ErrorCode.INVALID_PARAMS, e.getMessage()).toException());
    }
    Future<Attachment> op = operations.attach(DPU, request);
    if (op.failed()) {
      return Future.failedFuture(error(op.cause()).toException());
    }
    op.onComplete(ar -> {
      if (ar.succeeded()) {
        Attachment a = ar.result();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("vm", a.vm());
        result.put("deviceId", a.id());
        result.put("rootPort", a.rootPort());
        if (a.guestAddress() != null) {
          result.put("guestAddress", a.guestAddress());
        }
        result.put("migrationBlockedReasons", a.migrationBlockedReasons());
        notify.accept(Notification.opCompleted(r.opId(), result));
      } else {
        notify.accept(Notification.opFailed(r.opId(), error(ar.cause())));
      }
    });
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  @Override
  public Future<OpAccepted> detach(DetachRequest r) {
    Future<DetachResult> op = operations.detach(DPU, new io.qmpsidecar.sidecar.hotplug.DetachRequest(r.vm(),
        r.deviceId(), false, r.opId()));
    if (op.failed()) {
      return Future.failedFuture(error(op.cause()).toException());
    }
    op.onComplete(ar -> {
      if (ar.failed()) {
        notify.accept(Notification.opFailed(r.opId(), error(ar.cause())));
      } else if (ar.result().outcome() == DetachOutcome.PENDING) {
        // The DPU must not destroy the function yet: completion follows QEMU's DEVICE_DELETED.
        pending.add(r.opId());
        notify.accept(Notification.opProgress(r.opId(), "pending"));
      } else if (ar.result().outcome() == DetachOutcome.REJECTED) {
        notify.accept(Notification.opFailed(r.opId(), RelayError.of(ErrorCode.GUEST_UNPLUG_TIMEOUT,
            ar.result().detail())));
      } else {
        notify.accept(Notification.opCompleted(r.opId(), Map.of("vm", r.vm(), "deviceId", r.deviceId(),
            "outcome", ar.result().outcome().name().toLowerCase().replace('_', '-'))));
      }
    });
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  @Override
  public Future<List<DeviceInfo>> listDevices(String vm) {
    Future<List<DeviceInfo>> list = vm == null
        ? operations.allAttachments(DPU).map(all -> all.values().stream().flatMap(List::stream)
            .map(RelayExecutor::info).toList())
        : operations.attachments(DPU, vm).map(l -> l.stream().map(RelayExecutor::info).toList());
    return list.recover(e -> Future.failedFuture(error(e).toException()));
  }

  @Override
  public Future<List<VmInfo>> listVms() {
    try {
      return Future.succeededFuture(info(operations.vms(DPU)));
    } catch (SidecarException e) {
      return Future.failedFuture(error(e).toException());
    }
  }

  @Override
  public Future<StateSnapshot> snapshot() {
    return operations.snapshot(DPU).map(s -> {
      List<DeviceInfo> devices = new ArrayList<>();
      s.attachments().values().forEach(l -> l.forEach(a -> devices.add(info(a))));
      return new StateSnapshot(info(s.vms()), devices);
    }).recover(e -> Future.failedFuture(error(e).toException()));
  }

  private static List<VmInfo> info(List<VmHandle> vms) {
    return vms.stream().map(v -> new VmInfo(v.name(), v.state().name().toLowerCase())).toList();
  }

  private static DeviceInfo info(Attachment a) {
    return new DeviceInfo(a.vm(), a.id(), a.hostBdf(), a.driver(), a.state().name().toLowerCase());
  }

  /** A failure as the DPU hears it: the relay protocol's error code for each kind, one switch. */
  static RelayError error(Throwable failure) {
    SidecarException e = SidecarException.from(failure);
    ErrorCode code = switch (e.kind()) {
      case INVALID -> ErrorCode.INVALID_PARAMS;
      case DENIED -> ErrorCode.POLICY_DENIED;
      case THROTTLED, BUSY -> ErrorCode.TOO_MANY_REQUESTS;
      case NOT_FOUND -> ErrorCode.NOT_FOUND;
      case MIGRATING -> ErrorCode.BUSY_MIGRATING;
      case MIGRATION_BLOCKED -> ErrorCode.MIGRATION_BLOCKED;
      case HOST_PREREQUISITE -> ErrorCode.HOST_PREREQUISITE;
      case QEMU_ERROR -> ErrorCode.QEMU_ERROR;
      case GUEST_TIMEOUT -> ErrorCode.GUEST_UNPLUG_TIMEOUT;
      case CONFLICT, CONFIGURATION, UNAVAILABLE, TIMEOUT, PROTOCOL, FAILED, INTERNAL -> ErrorCode.INTERNAL_ERROR;
    };
    Map<String, Object> data = new LinkedHashMap<>();
    Object qemu = e.detail("qemu");
    if (qemu instanceof Map<?, ?> q) {
      q.forEach((k, v) -> data.put(String.valueOf(k), v));
    }
    e.details().forEach((k, v) -> {
      if (!k.equals("qemu")) {
        data.put(k, v);
      }
    });
    if (e.fix() != null) {
      data.put("fix", e.fix());
    }
    return new RelayError(code, e.getMessage(), data);
  }
}
