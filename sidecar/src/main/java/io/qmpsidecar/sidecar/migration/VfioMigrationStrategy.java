package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;

/**
 * {@code vfio-migration}: the device migrates with QEMU (VFIO migration v2). The DPU hears each
 * device state: QEMU's own {@code VFIO_MIGRATION} events (9.1+, {@code migration-events=on}),
 * else states derived from the migration phases: on the source {@code pre-copy},
 * {@code stop-copy}, then {@code stop} (or {@code running} again after a failure); on the
 * destination {@code resuming}, then {@code running}.
 */
final class VfioMigrationStrategy implements FunctionStrategy {
  static final VfioMigrationStrategy INSTANCE = new VfioMigrationStrategy();

  @Override
  public String refusal(MigratingFunction function, MigrationRequest request) {
    return function.vfio() && request.postcopy()
        ? "postcopy is not possible with VFIO function " + function.deviceId()
            + "; migrate without postcopy or detach it with strategy unplug-replug"
        : null;
  }

  @Override
  public Future<Void> beforeMigrate(StrategyContext context, MigratingFunction function) {
    context.step(function, "migrating-with-qemu", "");
    return Future.succeededFuture();
  }

  @Override
  public void onPhase(StrategyContext context, MigratingFunction function, MigrationRole role, MigrationPhase phase) {
    if (context.reportsVfioStates(role, function.deviceId())) {
      return;
    }
    String state = role == MigrationRole.SOURCE ? sourceState(phase) : destinationState(phase);
    if (state != null) {
      context.derivedVfioState(role, function.deviceId(), state);
    }
  }

  private static String sourceState(MigrationPhase phase) {
    return switch (phase) {
      case PRECOPY -> "pre-copy";
      case SWITCHOVER -> "stop-copy";
      case COMPLETED -> "stop";
      case FAILED, CANCELLED -> "running";
      default -> null;
    };
  }

  private static String destinationState(MigrationPhase phase) {
    return switch (phase) {
      case SETUP, PRECOPY -> "resuming";
      case COMPLETED -> "running";
      default -> null;
    };
  }
}
