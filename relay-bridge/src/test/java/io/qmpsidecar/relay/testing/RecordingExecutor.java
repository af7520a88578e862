package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
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
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A small in-memory sidecar: keeps attached devices, records every call, and can hold attaches
 * open (to test joins and in-flight limits) or refuse a BDF the way QEMU does.
 */
public final class RecordingExecutor implements RequestExecutor {

  /** The BDF whose attach fails like QEMU's missing host device. */
  public static final String MISSING_BDF = "0000:99:00.0";

  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final List<DeviceInfo> devices = new CopyOnWriteArrayList<>();
  private final List<Promise<OpAccepted>> held = new CopyOnWriteArrayList<>();
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
    if (MISSING_BDF.equals(r.bdf())) {
      return Future.failedFuture(RelayError.qemuError("GenericError", "vfio /sys/bus/pci/devices/" + r.bdf()
          + ": no such host device: No such file or directory").toException());
    }
    devices.add(new DeviceInfo(r.vm(), r.deviceId(), r.bdf(), "vfio-pci", "attached"));
    OpAccepted accepted = new OpAccepted(r.opId(), r.vm(), r.deviceId());
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
    devices.removeIf(d -> d.vm().equals(r.vm()) && d.deviceId().equals(r.deviceId()));
    return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
  }

  @Override
  public Future<List<DeviceInfo>> listDevices(String vm) {
    calls.add("listDevices " + vm);
    return Future.succeededFuture(devices.stream().filter(d -> vm == null || d.vm().equals(vm)).toList());
  }

  @Override
  public Future<List<VmInfo>> listVms() {
    calls.add("listVms");
    return Future.succeededFuture(List.of(new VmInfo("vm1", "running"), new VmInfo("vm2", "paused")));
  }

  @Override
  public Future<StateSnapshot> snapshot() {
    calls.add("snapshot");
    return Future.succeededFuture(new StateSnapshot(List.of(new VmInfo("vm1", "running")), List.copyOf(devices)));
  }
}
