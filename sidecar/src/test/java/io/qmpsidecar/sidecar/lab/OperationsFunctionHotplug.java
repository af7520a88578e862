package io.qmpsidecar.sidecar.lab;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.FunctionHotplug;
import io.qmpsidecar.sidecar.migration.MigrationFailures;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The migration coordinator's {@link FunctionHotplug} through the sidecar's own hotplug
 * operations, as the daemon wires it: a {@code vfio-pci} spec names its host function with the
 * {@code host} property and its root port with {@code bus}.
 */
final class OperationsFunctionHotplug implements FunctionHotplug {
  private final LabSidecar sidecar;

  OperationsFunctionHotplug(LabSidecar sidecar) {
    this.sidecar = sidecar;
  }

  @Override
  public Future<Void> detach(String vm, String deviceId, Duration timeout) {
    return sidecar.ops.detach(Caller.cli(), new DetachRequest(vm, deviceId, false, "mig-del-" + deviceId))
        .compose(r -> r.outcome() == DetachOutcome.DETACHED || r.outcome() == DetachOutcome.NOT_FOUND
            ? Future.<Void>succeededFuture()
            : Future.failedFuture(MigrationFailures.failed(vm, deviceId + " on " + vm + ": detach ended "
                + r.outcome() + " (" + r.detail() + "), not confirmed by DEVICE_DELETED", null)))
        .timeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public Future<Void> attach(String vm, DeviceSpec spec) {
    return sidecar.ops.attach(Caller.cli(), new AttachRequest(vm, spec.driver(),
        FunctionRef.of(Bdf.parse(spec.properties().get("host"))), null, spec.id(),
        spec.properties().get("bus"), null, "mig-add-" + spec.id())).mapEmpty();
  }

  @Override
  public Future<Boolean> isAttached(String vm, String deviceId) {
    return sidecar.conn(vm).qomGet("/machine/peripheral/" + deviceId, "realized").map(n -> n.asBoolean())
        .recover(e -> e instanceof QmpCommandException ? Future.succeededFuture(false) : Future.failedFuture(e));
  }
}
