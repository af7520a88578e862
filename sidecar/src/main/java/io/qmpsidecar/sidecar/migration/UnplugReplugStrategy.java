package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;

/**
 * {@code unplug-replug}: the function is detached (waiting for QEMU's confirmation) before
 * {@code migrate}. After {@code completed} the DPU hears that the destination may attach it
 * (and the coordinator attaches it there when it drives the destination too). When the migration
 * fails or is cancelled it is attached again on the source: first checked (it may still be there
 * when the detach never completed), then attached with bounded retries.
 */
final class UnplugReplugStrategy implements FunctionStrategy {
  static final UnplugReplugStrategy INSTANCE = new UnplugReplugStrategy();

  @Override
  public boolean resolves(MigratingFunction function, String reason) {
    // QEMU 7.2 names no device ("VFIO device doesn't support migration"); 10.0 names the host
    // address, an mdev's UUID, or VFIO_FDn for a device passed by descriptor. The driver checks
    // blocked-reasons again after the detach, so a VFIO device that is not unplugged still blocks
    // the migration.
    return function.namedIn(reason) || function.vfio() && StrategyChooser.namesNoVfioDevice(reason);
  }

  @Override
  public Future<Void> beforeMigrate(StrategyContext context, MigratingFunction function) {
    context.step(function, "detaching", "");
    return context.sourceHotplug().detach(context.vm(), function.deviceId(), context.options().detachTimeout())
        .onSuccess(v -> context.step(function, "detached", ""));
  }

  @Override
  public Future<Void> afterCompleted(StrategyContext context, MigratingFunction function) {
    context.step(function, "destination-may-attach", "");
    FunctionHotplug destination = context.destinationHotplug();
    if (destination == null) {
      return Future.succeededFuture();
    }
    return context.retry("attach " + function.deviceId() + " on " + context.destinationVm(),
            () -> destination.attach(context.destinationVm(), function.spec()))
        .onSuccess(v -> context.step(function, "attached-on-destination", ""));
  }

  @Override
  public Future<Void> rollback(StrategyContext context, MigratingFunction function) {
    FunctionHotplug source = context.sourceHotplug();
    return source.isAttached(context.vm(), function.deviceId()).compose(present -> {
      if (present) {
        context.step(function, "still-attached", "the detach had not completed");
        return Future.succeededFuture();
      }
      return context.retry("re-attach " + function.deviceId() + " on " + context.vm(),
              () -> source.attach(context.vm(), function.spec()))
          .onSuccess(v -> context.step(function, "reattached", ""));
    });
  }
}
