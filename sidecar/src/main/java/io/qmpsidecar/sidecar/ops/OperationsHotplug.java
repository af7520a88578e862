package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.ObjectProperty;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DeviceOptions;
import io.qmpsidecar.sidecar.hotplug.FunctionRef;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.FunctionHotplug;
import io.qmpsidecar.sidecar.migration.MigrationFailures;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;

/**
 * The migration layer's detach and re-attach, done by the operations layer as the caller who
 * asked for the migration: the same host prep, policy, placement, verification and events as
 * any other attach or detach.
 */
final class OperationsHotplug implements FunctionHotplug {
  private final Vertx vertx;
  private final Operations operations;
  private final EventStream events;
  private final Caller caller;
  private final String opId;

  /** {@code opId}: the migration's operation id, carried by every detach and attach it makes. */
  OperationsHotplug(Vertx vertx, Operations operations, EventStream events, Caller caller, String opId) {
    this.vertx = vertx;
    this.operations = operations;
    this.events = events;
    this.caller = caller;
    this.opId = opId;
  }

  @Override
  public Future<Void> detach(String vm, String deviceId, Duration timeout) {
    Promise<Void> done = Promise.promise();
    // Watch before asking, so that a completion racing the reply is not missed.
    EventSubscription sub = events.subscribe(e -> vm.equals(e.vm()) && EventTypes.DEVICE_DETACHED.equals(e.type())
        && deviceId.equals(e.text("id")), 4, e -> done.tryComplete());
    long timer = vertx.setTimer(timeout.toMillis(), t -> done.tryFail(MigrationFailures.failed(vm, "VM " + vm
        + ": the guest did not release " + deviceId + " within " + timeout.toMillis() + " ms; its removal is still pending",
        null)));
    operations.detach(caller, new DetachRequest(vm, deviceId, false, opId)).onComplete(ar -> {
      if (ar.failed()) {
        done.tryFail(ar.cause());
      } else if (ar.result().outcome() != DetachOutcome.PENDING) {
        switch (ar.result().outcome()) {
          case REJECTED -> done.tryFail(MigrationFailures.failed(vm, "VM " + vm + ": the guest refused to release "
              + deviceId + ": " + ar.result().detail(), null));
          default -> done.tryComplete();
        }
      }
    });
    return done.future().onComplete(ar -> {
      sub.cancel();
      vertx.cancelTimer(timer);
    });
  }

  @Override
  public Future<Void> attach(String vm, DeviceSpec spec) {
    String host = spec.properties().get("host");
    String sysfsdev = spec.properties().get("sysfsdev");
    FunctionRef function = host != null ? FunctionRef.of(Bdf.parse(host))
        : sysfsdev != null ? FunctionRef.mdev(sysfsdev.substring(sysfsdev.lastIndexOf('/') + 1)) : null;
    return operations.attach(caller, new AttachRequest(vm, spec.driver(), function, null, spec.id(),
        spec.properties().get("bus"), DeviceOptions.NONE, opId)).mapEmpty();
  }

  @Override
  public Future<Boolean> isAttached(String vm, String deviceId) {
    return operations.connection(vm).compose(c -> c.qomList("/machine/peripheral"))
        .map(list -> list.stream().map(ObjectProperty::name).anyMatch(deviceId::equals));
  }
}
