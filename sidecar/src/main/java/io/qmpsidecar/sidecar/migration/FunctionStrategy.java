package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;

/**
 * What one strategy does to a function at each step of a coordinated migration. The coordinator
 * calls the hooks in this order: {@link #refusal} (preflight), {@link #beforeMigrate}, then
 * {@link #onPhase} for each phase either end enters, then {@link #afterCompleted} or, when the
 * migration does not complete, {@link #rollback} (only for functions whose
 * {@link #beforeMigrate} ran). Futures must complete on an event loop without blocking it.
 */
public interface FunctionStrategy {

  /** The implementation of {@code strategy}. */
  static FunctionStrategy of(Strategy strategy) {
    return switch (strategy) {
      case VFIO_MIGRATION -> VfioMigrationStrategy.INSTANCE;
      case UNPLUG_REPLUG -> UnplugReplugStrategy.INSTANCE;
      case FAILOVER -> FailoverStrategy.INSTANCE;
      case BLOCK -> BlockStrategy.INSTANCE;
      case AUTO -> throw new IllegalArgumentException("strategy auto runs only once PREFLIGHT has chosen another");
    };
  }

  /** Why this function forbids the migration, or null when it allows it. */
  default String refusal(MigratingFunction function, MigrationRequest request) {
    return null;
  }

  /** True when this strategy removes the cause of QEMU's blocker {@code reason} before {@code migrate}. */
  default boolean resolves(MigratingFunction function, String reason) {
    return false;
  }

  /** Runs before {@code migrate}; a failure rolls the migration back. */
  default Future<Void> beforeMigrate(StrategyContext context, MigratingFunction function) {
    return Future.succeededFuture();
  }

  /** Either end entered {@code phase} ({@link MigrationPhase#SWITCHOVER} also on the source's {@code STOP}). */
  default void onPhase(StrategyContext context, MigratingFunction function, MigrationRole role, MigrationPhase phase) {}

  /** Runs once QEMU reports {@code completed} on the source. */
  default Future<Void> afterCompleted(StrategyContext context, MigratingFunction function) {
    return Future.succeededFuture();
  }

  /** Puts the function back as it was on the source; runs when the migration did not complete. */
  default Future<Void> rollback(StrategyContext context, MigratingFunction function) {
    return Future.succeededFuture();
  }
}
