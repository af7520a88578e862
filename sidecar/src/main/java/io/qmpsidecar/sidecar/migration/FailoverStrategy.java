package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;

/**
 * {@code failover}: a virtio-net failover primary ({@code failover_pair_id}). QEMU itself unplugs
 * it during {@code wait-unplug} ({@code UNPLUG_PRIMARY}) and plugs it back on the source when the
 * migration fails; the guest negotiates it again on the destination
 * ({@code FAILOVER_NEGOTIATED}). The sidecar forwards those events and tells the DPU the steps.
 */
final class FailoverStrategy implements FunctionStrategy {
  static final FailoverStrategy INSTANCE = new FailoverStrategy();

  @Override
  public Future<Void> beforeMigrate(StrategyContext context, MigratingFunction function) {
    context.step(function, "qemu-unplugs-primary", "follow failover.unplugPrimary");
    return Future.succeededFuture();
  }

  @Override
  public void onPhase(StrategyContext context, MigratingFunction function, MigrationRole role, MigrationPhase phase) {
    if (role == MigrationRole.SOURCE && phase == MigrationPhase.WAIT_UNPLUG) {
      context.step(function, "waiting-for-guest-unplug", "");
    }
  }

  @Override
  public Future<Void> afterCompleted(StrategyContext context, MigratingFunction function) {
    context.step(function, "destination-may-attach", "the guest negotiates the primary again (failover.negotiated)");
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> rollback(StrategyContext context, MigratingFunction function) {
    context.step(function, "replugged-by-qemu", "QEMU plugs the primary back on the source");
    return Future.succeededFuture();
  }
}
