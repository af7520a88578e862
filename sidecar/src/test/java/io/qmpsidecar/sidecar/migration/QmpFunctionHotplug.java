package io.qmpsidecar.sidecar.migration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpSubscription;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.sidecar.failure.Failures;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Map;

/**
 * The tests' {@link FunctionHotplug}: plain {@code device_add} / {@code device_del}. With no guest
 * driver to release the device, a pending removal is completed through the reset path
 * ({@code system_reset}), as QEMU's own tests do.
 */
final class QmpFunctionHotplug implements FunctionHotplug {
  private static final Duration GUEST_WAIT = Duration.ofMillis(200);

  private final Vertx vertx;
  private final Map<String, QmpConnection> vms;

  QmpFunctionHotplug(Vertx vertx, Map<String, QmpConnection> vms) {
    this.vertx = vertx;
    this.vms = Map.copyOf(vms);
  }

  @Override
  public Future<Void> detach(String vm, String deviceId, Duration timeout) {
    QmpConnection qmp = vms.get(vm);
    Promise<Void> deleted = Promise.promise();
    QmpSubscription sub = qmp.subscribe(EventFilter.names("DEVICE_DELETED").and(e -> deviceId.equals(e.text("device"))),
        e -> deleted.tryComplete());
    long timer = vertx.setTimer(timeout.toMillis(), t -> deleted.tryFail(MigrationFailures.failed(vm,
        deviceId + " on " + vm + ": removal still pending after " + timeout, null)));
    qmp.deviceDel(deviceId, GUEST_WAIT)
        .compose(outcome -> outcome == UnplugOutcome.DELETED ? Future.succeededFuture() : qmp.systemReset())
        .onFailure(deleted::tryFail);
    return deleted.future().onComplete(r -> {
      vertx.cancelTimer(timer);
      sub.cancel();
    });
  }

  @Override
  public Future<Void> attach(String vm, DeviceSpec spec) {
    ObjectNode props = JsonNodeFactory.instance.objectNode().put("driver", spec.driver()).put("id", spec.id());
    spec.properties().forEach(props::put);
    return vms.get(vm).deviceAdd(props).recover(e -> Future.failedFuture(e instanceof QmpCommandException q
        ? Failures.qemuRefused(vm, q) : e));
  }

  @Override
  public Future<Boolean> isAttached(String vm, String deviceId) {
    return vms.get(vm).qomGet("/machine/peripheral/" + deviceId, "realized").map(n -> n.asBoolean())
        .recover(e -> e instanceof QmpCommandException ? Future.succeededFuture(false) : Future.failedFuture(e));
  }
}
