package io.qmpsidecar.relay.testing;

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
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A small in-memory sidecar with a pretend QEMU: serves VMs {@code vm1} (running) and {@code vm2}
 * (paused), keeps devices with who attached them, runs attaches and detaches with the documented
 * notifications (stages, device.deleted before op.completed, op.failed GUEST_UNPLUG_TIMEOUT for a
 * guest that never releases), resumes operations cut short by a crash by looking at its devices,
 * and records every call. It can hold attaches open (joins, in-flight limits, crashes before the
 * answer). Its devices outlive the relay host that uses it, as QEMU's outlive a sidecar crash.
 */
public final class RecordingExecutor implements RequestExecutor {

  /** The BDF whose attach is refused before it runs: no such PCI device on the host. */
  public static final String MISSING_BDF = "0000:99:00.0";
  /** The BDF whose attach is accepted and then refused by QEMU (op.failed QEMU_ERROR). */
  public static final String QEMU_REFUSES_BDF = "0000:98:00.0";
  /** The BDF whose attach throws inside the executor, as a bug would. */
  public static final String THROWING_BDF = "0000:97:00.0";
  /**
   * The BDF whose first attach the executor's own policy throttles (it decides with facts the
   * authorizer lacks); a later one is accepted.
   */
  public static final String THROTTLED_ONCE_BDF = "0000:96:00.0";
  /** A device in vm1 that an operator attached, not the DPU. */
  public static final String FOREIGN_DEVICE = "dpu-operator0";
  /** How long a guest that ignores unplugs is waited for before op.failed GUEST_UNPLUG_TIMEOUT. */
  public static final Duration UNPLUG_WAIT = Duration.ofSeconds(2);

  private record Device(DeviceInfo info, String attachedBy) {}

  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<Device> devices = new CopyOnWriteArrayList<>(List.of(
      new Device(new DeviceInfo("vm1", FOREIGN_DEVICE, "0000:04:00.0", "vfio-pci", "attached"), "operator")));
  private final List<Promise<Void>> held = new CopyOnWriteArrayList<>();
  private final AtomicInteger throttledOnce = new AtomicInteger();
  private volatile boolean holdAttaches;
  private volatile boolean guestIgnoresUnplugs;
  private volatile String resumeFailure;
  private volatile Consumer<Notification> notify = n -> {
    throw new IllegalStateException("RecordingExecutor.notifyThrough was not called; " + n.method() + " has nowhere to go");
  };

  /** Where operations send their notifications: the relay host's notify. */
  public void notifyThrough(Consumer<Notification> sink) {
    notify = sink;
  }

  /** Every call so far, e.g. {@code attach op-1}. */
  public List<String> calls() {
    return Collections.unmodifiableList(new ArrayList<>(calls));
  }

  /** From now on attaches stay open (not answered) until {@link #releaseHeld()}. */
  public void holdAttaches() {
    holdAttaches = true;
  }

  public int heldCount() {
    return held.size();
  }

  /** Answers every held attach. */
  public void releaseHeld() {
    holdAttaches = false;
    held.forEach(p -> p.tryComplete());
    held.clear();
  }

  /** The process running the operations died: held ones are gone, never answered. */
  public void crashed() {
    holdAttaches = false;
    held.clear();
  }

  /** From now on {@link #resume} fails with {@code why}, as a sidecar that cannot see QEMU would. */
  public void failResumes(String why) {
    resumeFailure = why;
  }

  /** From now on the guests never release a device they are asked to unplug. */
  public void guestIgnoresUnplugs() {
    guestIgnoresUnplugs = true;
  }

  /** Removes a device as an operator would, outside any DPU operation; QEMU reports it. */
  public void removeOutsideTheRelay(String vm, String id) {
    Device d = find(vm, id);
    if (d == null) {
      throw new IllegalArgumentException(vm + " has no device " + id);
    }
    devices.remove(d);
    notify.accept(Notification.deviceDeleted(vm, id, "/machine/peripheral/" + id));
  }

  @Override
  public Future<OpAccepted> attach(DeviceAttachParams r) {
    calls.add("attach " + r.opId());
    if (!knownVm(r.vm())) {
      return unknownVm(r.vm());
    }
    if (THROWING_BDF.equals(r.bdf())) {
      throw new IllegalStateException("a bug in the executor");
    }
    if (THROTTLED_ONCE_BDF.equals(r.bdf()) && throttledOnce.getAndIncrement() == 0) {
      return Future.failedFuture(RelayError.throttled("dpu-rate", "one attach of this function per second",
          Duration.ofMillis(50)).toException());
    }
    if (MISSING_BDF.equals(r.bdf())) {
      String problem = "no such PCI device (/sys/bus/pci/devices/" + r.bdf() + " is missing)";
      String fix = "check the address with lspci -D, and for a VF that sriov_numvfs of its PF created it";
      return Future.failedFuture(new RelayError(ErrorCode.HOST_PREREQUISITE, "host device " + r.bdf() + ": " + problem
          + "; " + fix, Map.of("bdf", r.bdf(), "problem", problem, "fix", fix)).toException());
    }
    // As the sidecar chooses (RelayExecutor.chosenId): dpu- and the function's address or the mdev's UUID.
    String id = r.deviceId() != null ? r.deviceId()
        : "dpu-" + (r.mdev() != null ? r.mdev() : r.bdf().toLowerCase(Locale.ROOT).replaceAll("[:.]", "-"));
    OpAccepted accepted = new OpAccepted(r.opId(), r.vm(), id);
    Context context = Vertx.currentContext();
    boolean refused = QEMU_REFUSES_BDF.equals(r.bdf());
    if (!refused) {
      devices.add(new Device(new DeviceInfo(r.vm(), id, r.bdf(), "vfio-pci", "attached", r.mdev()), "dpu"));
    }
    Future<Void> answer = Future.succeededFuture();
    if (holdAttaches) {
      Promise<Void> p = Promise.promise();
      held.add(p);
      answer = p.future();
    }
    return answer.map(v -> {
      context.runOnContext(x -> {
        notify.accept(Notification.opProgress(r.opId(), OpStage.HOST_PREPARED));
        if (refused) {
          notify.accept(Notification.opFailed(r.opId(), qemuRefusedDeviceAdd(r.vm(),
              "vfio " + r.bdf() + ": error getting device from group 14: No such device")));
          return;
        }
        notify.accept(Notification.opProgress(r.opId(), OpStage.DEVICE_ADDED));
        notify.accept(Notification.opCompleted(r.opId(), OpResult.attached(r.vm(), id, function(r))));
      });
      return accepted;
    });
  }

  @Override
  public Future<OpAccepted> detach(DeviceDetachParams r) {
    calls.add("detach " + r.opId());
    if (!knownVm(r.vm())) {
      return unknownVm(r.vm());
    }
    Device d = find(r.vm(), r.deviceId());
    if (d == null) {
      String fix = "list the VM's devices (qmp-sidecar devices list " + r.vm() + ") and use one of their ids";
      return Future.failedFuture(new RelayError(ErrorCode.NOT_FOUND, r.vm() + " has no device " + r.deviceId() + "; "
          + fix, Map.of("vm", r.vm(), "device", r.deviceId(), "fix", fix)).toException());
    }
    if (!"dpu".equals(d.attachedBy())) {
      return Future.failedFuture(RelayError.policyDenied(PrefixAuthorizer.RULE, PrefixAuthorizer.REASON).toException());
    }
    Context context = Vertx.currentContext();
    context.runOnContext(x -> {
      notify.accept(Notification.opProgress(r.opId(), OpStage.UNPLUG_REQUESTED));
      if (guestIgnoresUnplugs) {
        devices.set(devices.indexOf(d), new Device(withState(d.info(), "detaching"), d.attachedBy()));
        notify.accept(Notification.opProgress(r.opId(), OpStage.PENDING));
        context.owner().setTimer(UNPLUG_WAIT.toMillis(), t -> notify.accept(Notification.opFailed(r.opId(),
            new RelayError(ErrorCode.GUEST_UNPLUG_TIMEOUT, "the guest did not release " + r.deviceId() + " within "
                + UNPLUG_WAIT.toMillis() + " ms; removal is pending", Map.of("vm", r.vm(), "device", r.deviceId())))));
        return;
      }
      devices.remove(d);
      notify.accept(Notification.deviceDeleted(r.vm(), r.deviceId(), "/machine/peripheral/" + r.deviceId()));
      notify.accept(Notification.opCompleted(r.opId(), OpResult.detached(r.vm(), r.deviceId())));
    });
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  /** Looks at its devices, as the sidecar looks at QEMU, to tell how the operation ended. */
  @Override
  public Future<OpEnd> resume(UnfinishedOp op) {
    calls.add("resume " + op.opId());
    if (resumeFailure != null) {
      return Future.failedFuture(new IllegalStateException(resumeFailure));
    }
    if (op.params() instanceof DeviceAttachParams a) {
      String id = op.accepted() != null ? op.accepted().deviceId() : a.deviceId();
      Device d = id == null ? null : find(a.vm(), id);
      return Future.succeededFuture(d != null ? OpEnd.completed(OpResult.attached(a.vm(), id, function(a)))
          : OpEnd.failed(new RelayError(ErrorCode.OP_INTERRUPTED, "attach " + op.opId() + " was cut short before the"
              + " device was added; nothing changed: retry with a new opId", Map.of("opId", op.opId()))));
    }
    DeviceDetachParams d = (DeviceDetachParams) op.params();
    return Future.succeededFuture(find(d.vm(), d.deviceId()) == null
        ? OpEnd.completed(OpResult.alreadyDetached(d.vm(), d.deviceId()))
        : OpEnd.failed(new RelayError(ErrorCode.OP_INTERRUPTED, "detach " + op.opId() + " was cut short and "
            + d.deviceId() + " is still attached; detach it again with a new opId", Map.of("opId", op.opId()))));
  }

  @Override
  public Future<List<DeviceInfo>> listDevices(String vm) {
    calls.add("listDevices " + vm);
    if (vm != null && !knownVm(vm)) {
      return unknownVm(vm);
    }
    return Future.succeededFuture(devices.stream().map(Device::info).filter(d -> vm == null || d.vm().equals(vm))
        .toList());
  }

  @Override
  public Future<List<VmInfo>> listVms() {
    calls.add("listVms");
    return Future.succeededFuture(vms());
  }

  @Override
  public Future<StateSnapshot> snapshot() {
    calls.add("snapshot");
    return Future.succeededFuture(new StateSnapshot(vms(), devices.stream().map(Device::info).toList()));
  }

  /** The devices of a VM, as listed. */
  public List<DeviceInfo> devices(String vm) {
    return devices.stream().map(Device::info).filter(d -> d.vm().equals(vm)).toList();
  }

  private static List<VmInfo> vms() {
    return List.of(new VmInfo("vm1", "running", VmInfo.CONNECTED), new VmInfo("vm2", "paused", VmInfo.CONNECTED));
  }

  private static boolean knownVm(String vm) {
    return vm.equals("vm1") || vm.equals("vm2");
  }

  private static <T> Future<T> unknownVm(String vm) {
    String fix = "configured VMs: [vm1, vm2] (VMs come from the sidecar's configuration, see docs/configuration.md)";
    return Future.failedFuture(new RelayError(ErrorCode.NOT_FOUND, "no VM named '" + vm + "' is configured here; "
        + fix, Map.of("vm", vm, "fix", fix)).toException());
  }

  /** As the sidecar tells QEMU's refusal of a device_add (RelayErrors, from its failure vocabulary). */
  private static RelayError qemuRefusedDeviceAdd(String vm, String desc) {
    String fix = "check the BDF (ls /sys/bus/pci/devices) and the sidecar's sysfs root";
    return new RelayError(ErrorCode.QEMU_ERROR, "VM " + vm + ": QEMU refused device_add: GenericError: " + desc + "; "
        + fix, Map.of("class", "GenericError", "desc", desc, "command", "device_add", "fix", fix));
  }

  /** An attached outcome's details: the function's address, or the mediated device's UUID. */
  private static Map<String, Object> function(DeviceAttachParams r) {
    return r.mdev() != null ? Map.of("mdev", r.mdev()) : Map.of("bdf", r.bdf());
  }

  private static DeviceInfo withState(DeviceInfo i, String state) {
    return new DeviceInfo(i.vm(), i.deviceId(), i.bdf(), i.driver(), state, i.mdev());
  }

  private Device find(String vm, String id) {
    return devices.stream().filter(d -> d.info().vm().equals(vm) && d.info().deviceId().equals(id))
        .findFirst().orElse(null);
  }
}
