package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.VmInfo;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small in-memory sidecar: serves VMs {@code vm1} (running) and {@code vm2} (paused), keeps
 * attached devices with who attached them, records every call, and can hold attaches open (to
 * test joins and in-flight limits) or refuse a BDF the way the host would.
 */
public final class RecordingExecutor implements RequestExecutor {

  /** The BDF whose attach is refused before it runs: no such PCI device on the host. */
  public static final String MISSING_BDF = "0000:99:00.0";
  /** A device in vm1 that an operator attached, not the DPU. */
  public static final String FOREIGN_DEVICE = "dpu-operator0";
  /** The rule that keeps the DPU's hands off devices it did not attach. */
  public static final String OWN_DEVICES_RULE = "dpu-detach-own";

  private record Device(DeviceInfo info, String attachedBy) {}

  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<Device> devices = new CopyOnWriteArrayList<>(List.of(
      new Device(new DeviceInfo("vm1", FOREIGN_DEVICE, "0000:04:00.0", "vfio-pci", "attached"), "operator")));
  private final List<Promise<OpAccepted>> held = new CopyOnWriteArrayList<>();
  private final AtomicInteger chosen = new AtomicInteger();
  private volatile boolean holdAttaches;

  /** Every call so far, e.g. {@code attach op-1}. */
  public List<String> calls() {
    return Collections.unmodifiableList(new ArrayList<>(calls));
  }

  /** From now on attaches stay open until {@link #releaseHeld()}. */
  public void holdAttaches() {
    holdAttaches = true;
  }

  public int heldCount() {
    return held.size();
  }

  /** Completes every held attach. */
  public void releaseHeld() {
    holdAttaches = false;
    held.forEach(p -> p.tryComplete(new OpAccepted("held", "vm", "dev")));
    held.clear();
  }

  @Override
  public Future<OpAccepted> attach(DeviceAttachParams r) {
    calls.add("attach " + r.opId());
    if (!knownVm(r.vm())) {
      return unknownVm(r.vm());
    }
    if (MISSING_BDF.equals(r.bdf())) {
      return Future.failedFuture(new RelayError(ErrorCode.HOST_PREREQUISITE, "no PCI device " + r.bdf()
          + " on this host; check lspci -D", Map.of("bdf", r.bdf())).toException());
    }
    String id = r.deviceId() != null ? r.deviceId() : "dpu-fn" + chosen.incrementAndGet();
    devices.add(new Device(new DeviceInfo(r.vm(), id, r.bdf(), "vfio-pci", "attached"), "dpu"));
    OpAccepted accepted = new OpAccepted(r.opId(), r.vm(), id);
    if (holdAttaches) {
      Promise<OpAccepted> p = Promise.promise();
      held.add(p);
      return p.future().map(x -> accepted);
    }
    return Future.succeededFuture(accepted);
  }

  @Override
  public Future<OpAccepted> detach(DeviceDetachParams r) {
    calls.add("detach " + r.opId());
    if (!knownVm(r.vm())) {
      return unknownVm(r.vm());
    }
    Device d = find(r.vm(), r.deviceId());
    if (d == null) {
      return Future.failedFuture(new RelayError(ErrorCode.NOT_FOUND, r.vm() + " has no device " + r.deviceId(),
          Map.of("vm", r.vm(), "device", r.deviceId())).toException());
    }
    if (!"dpu".equals(d.attachedBy())) {
      return Future.failedFuture(RelayError.policyDenied(OWN_DEVICES_RULE, r.deviceId() + " was attached by "
          + d.attachedBy() + ", not by the DPU; the DPU may detach only what it attached").toException());
    }
    devices.remove(d);
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
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

  private static List<VmInfo> vms() {
    return List.of(new VmInfo("vm1", "running"), new VmInfo("vm2", "paused"));
  }

  private static boolean knownVm(String vm) {
    return vm.equals("vm1") || vm.equals("vm2");
  }

  private static <T> Future<T> unknownVm(String vm) {
    return Future.failedFuture(new RelayError(ErrorCode.NOT_FOUND, "no VM named " + vm
        + " in the sidecar's configuration; vm.list shows the VMs", Map.of("vm", vm)).toException());
  }

  private Device find(String vm, String id) {
    return devices.stream().filter(d -> d.info().vm().equals(vm) && d.info().deviceId().equals(id))
        .findFirst().orElse(null);
  }
}
