package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One coordinated migration, as a state machine ({@link CoordinationState}). Its steps run one
 * after the other as a chain of futures; fields read across threads are volatile or concurrent.
 */
public final class CoordinatedMigration {
  private static final Duration CANCEL_WAIT = Duration.ofSeconds(30);

  private final MigrationDriver driver;
  private final MigrationListener listener;
  private final MigrationEndpoint source;
  private final MigrationEndpoint destination;
  /** The caller's request until PREFLIGHT has chosen the {@code auto} functions' strategies. */
  private volatile MigrationRequest request;
  private final MigrationMonitor sourceMonitor;
  private final MigrationMonitor destinationMonitor;
  private final StrategyContext context;
  private final List<MigratingFunction> prepared = new CopyOnWriteArrayList<>();
  private final Promise<MigrationResult> result = Promise.promise();
  private volatile CoordinationState state = CoordinationState.PREFLIGHT;
  private volatile boolean cancelRequested;
  private volatile boolean migrateSent;
  private volatile boolean wasRunning;
  private volatile Future<MigrationRecord> destinationEnd = Future.succeededFuture(null);

  CoordinatedMigration(Vertx vertx, MigrationDriver driver, MigrationCoordinatorOptions options,
      MigrationListener listener, MigrationEndpoint source, MigrationEndpoint destination, MigrationRequest request) {
    this.driver = driver;
    this.listener = listener;
    this.source = source;
    this.destination = destination;
    this.request = request;
    MigrationListener internal = this::onMonitorEvent;
    this.sourceMonitor = new MigrationMonitor(vertx, source.vm(), MigrationRole.SOURCE, source.connection(),
        options.monitor(), internal);
    this.destinationMonitor = destination == null ? null : new MigrationMonitor(vertx, destination.vm(),
        MigrationRole.DESTINATION, destination.connection(), options.monitor(), internal);
    this.context = new StrategyContext(vertx, source, destination, options, listener, sourceMonitor, destinationMonitor);
  }

  /**
   * Completes with the result once the migration completed and every function's finishing step
   * ran. Fails with a {@link io.qmpsidecar.sidecar.failure.SidecarException}: {@code migration-refused}
   * or {@code migration-blocked} when refused before anything changed; {@code migration-failed}
   * when it failed or was cancelled and was rolled back (or QEMU completed but a finishing step
   * failed); {@code migration-rollback-failed} when the rollback failed too
   * (the VM runs on the destination then).
   */
  public Future<MigrationResult> result() {
    return result.future();
  }

  /**
   * Asks for cancellation: before {@code migrate} the run stops there; after, QEMU gets
   * {@code migrate_cancel}. Either way the run rolls back and its result fails with outcome
   * {@link MigrationOutcome#CANCELLED} (unless QEMU completed first).
   */
  public Future<Void> cancel() {
    cancelRequested = true;
    return migrateSent ? driver.cancel(source.vm(), source.connection()) : Future.succeededFuture();
  }

  /** Sets bandwidth and downtime limit on the source, also while QEMU migrates. */
  public Future<Void> setParameters(MigrationParameters parameters) {
    return driver.setParameters(source.vm(), source.connection(), parameters);
  }

  public CoordinationState state() {
    return state;
  }

  /** The source's latest record. */
  public MigrationRecord sourceRecord() {
    return sourceMonitor.record();
  }

  /** The destination's latest record, or null when not driven by this run. */
  public MigrationRecord destinationRecord() {
    return destinationMonitor == null ? null : destinationMonitor.record();
  }

  void run() {
    enter(CoordinationState.PREFLIGHT, "");
    Future<Void> monitors = sourceMonitor.start()
        .compose(v -> destinationMonitor == null ? Future.succeededFuture() : destinationMonitor.start());
    monitors.compose(v -> chooseStrategies())
        .compose(v -> driver.preflight(source.vm(), source.connection(), request))
        .compose(reasons -> source.connection().queryStatus().map(status -> {
          wasRunning = status.running();
          return reasons;
        }))
        .onSuccess(this::proceed)
        .onFailure(e -> {
          enter(CoordinationState.REFUSED, e.getMessage());
          end();
          result.fail(e);
        });
  }

  /**
   * Chooses a strategy for each {@code auto} function from QEMU's {@code blocked-reasons}
   * ({@link StrategyChooser}) and tells the DPU ({@code strategy-chosen}, with the reason).
   */
  private Future<Void> chooseStrategies() {
    if (request.functions().stream().noneMatch(f -> f.strategy() == Strategy.AUTO)) {
      return Future.succeededFuture();
    }
    return driver.blockedReasons(source.vm(), source.connection()).map(reasons -> {
      List<MigratingFunction> chosen = StrategyChooser.choose(request.functions(), reasons);
      for (int i = 0; i < chosen.size(); i++) {
        if (request.functions().get(i).strategy() == Strategy.AUTO) {
          context.step(chosen.get(i), "strategy-chosen", "");
        }
      }
      request = request.withFunctions(chosen);
      return null;
    });
  }

  private void proceed(List<String> resolvableReasons) {
    enter(CoordinationState.PREPARING, "");
    Future<Void> prepare = destination == null ? Future.succeededFuture()
        : driver.prepareDestination(destination.vm(), destination.connection(), request.uri(), request.capabilities());
    prepare.compose(v -> detachAll())
        .compose(v -> recheck(resolvableReasons))
        .compose(v -> migrate())
        .onComplete(r -> {
          if (r.succeeded() && r.result().outcome() == MigrationOutcome.COMPLETED) {
            finish(r.result());
          } else {
            rollback(r.succeeded() ? null : r.cause());
          }
        });
  }

  private Future<Void> detachAll() {
    enter(CoordinationState.DETACHING, "");
    Future<Void> chain = Future.succeededFuture();
    for (MigratingFunction f : request.functions()) {
      chain = chain.compose(v -> {
        prepared.add(f);
        return FunctionStrategy.of(f.strategy()).beforeMigrate(context, f);
      });
    }
    return chain;
  }

  private Future<Void> recheck(List<String> resolvableReasons) {
    if (resolvableReasons.isEmpty()) {
      return Future.succeededFuture();
    }
    return driver.blockedReasons(source.vm(), source.connection()).compose(left -> left.isEmpty()
        ? Future.succeededFuture() : Future.failedFuture(MigrationFailures.blocked(source.vm(), left)));
  }

  private Future<MigrationRecord> migrate() {
    migrateSent = true;
    if (cancelRequested) {
      return Future.failedFuture(MigrationFailures.failed(source.vm(), "migration of " + source.vm() + " cancelled before migrate", null));
    }
    enter(CoordinationState.MIGRATING, "");
    Future<MigrationRecord> end = sourceMonitor.nextEnd(request.timeout());
    if (destinationMonitor != null) {
      destinationEnd = destinationMonitor.nextEnd(request.timeout().plus(context.options().destinationTimeout()));
    }
    return driver.start(source.vm(), source.connection(), request)
        // A cancel that came while the capabilities and parameters were being set sent its
        // migrate_cancel before QEMU had a migration to cancel: cancel again now that it has one.
        .compose(v -> cancelRequested ? driver.cancel(source.vm(), source.connection()) : Future.<Void>succeededFuture())
        .compose(v -> end.recover(timeout -> {
          Future<MigrationRecord> cancelled = sourceMonitor.nextEnd(CANCEL_WAIT);
          return driver.cancel(source.vm(), source.connection()).compose(x -> cancelled);
        }));
  }

  private void finish(MigrationRecord sourceRecord) {
    enter(CoordinationState.FINISHING, "");
    Future<Void> chain = destinationEnd.mapEmpty();
    for (MigratingFunction f : prepared) {
      chain = chain.compose(v -> FunctionStrategy.of(f.strategy()).afterCompleted(context, f));
    }
    chain.onComplete(r -> {
      MigrationRecord src = sourceMonitor.record();
      MigrationRecord dst = destinationRecord();
      end();
      if (r.failed()) {
        enter(CoordinationState.COMPLETED, "with errors: " + r.cause().getMessage());
        result.fail(MigrationFailures.failed(source.vm(), source.vm() + " migrated, but a finishing step failed: "
            + r.cause().getMessage() + "; the VM runs on the destination, attach the missing functions there", r.cause()));
        return;
      }
      enter(CoordinationState.COMPLETED, "");
      Duration downtime = dst == null || src.stoppedAt() == null || dst.resumedAt() == null ? null
          : Duration.between(src.stoppedAt(), dst.resumedAt());
      result.complete(new MigrationResult(src, dst, downtime));
    });
  }

  private void rollback(Throwable cause) {
    MigrationRecord record = sourceMonitor.record();
    MigrationOutcome outcome = cancelRequested && record.outcome() != MigrationOutcome.FAILED
        ? MigrationOutcome.CANCELLED : MigrationOutcome.FAILED;
    String what = cause != null ? cause.getMessage()
        : record.errorText() != null ? record.errorText() : "QEMU reports " + record.qemuStatus();
    enter(CoordinationState.ROLLING_BACK, what);
    List<MigratingFunction> reverse = new ArrayList<>(prepared);
    Collections.reverse(reverse);
    List<String> stillDetached = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (MigratingFunction f : reverse) {
      chain = chain.compose(v -> FunctionStrategy.of(f.strategy()).rollback(context, f)
          .recover(e -> {
            stillDetached.add(f.deviceId());
            errors.add(e);
            return Future.succeededFuture();
          }));
    }
    chain.compose(v -> ensureRunning()).onComplete(r -> {
      end();
      String vmState = r.succeeded() ? r.result() : "unknown (" + r.cause().getMessage() + ")";
      if (r.failed() || !errors.isEmpty()) {
        Throwable first = r.failed() ? r.cause() : errors.get(0);
        enter(CoordinationState.ROLLBACK_FAILED, first.getMessage());
        result.fail(MigrationFailures.rollbackFailed(source.vm(), vmState, stillDetached, first));
        return;
      }
      enter(CoordinationState.ROLLED_BACK, what);
      result.fail(MigrationFailures.rolledBack(source.vm(), outcome, sourceMonitor.record(), "migration of "
          + source.vm() + " " + outcome.name().toLowerCase(Locale.ROOT) + ": " + what + "; rolled back: " + source.vm()
          + " is " + vmState + " on the source with " + prepared.size() + " function(s) attached", cause));
    });
  }

  /** The source's run state after the rollback; resumes it when it ran before and QEMU left it stopped. */
  private Future<String> ensureRunning() {
    return source.connection().queryStatus().compose(status -> {
      if (status.running() || !wasRunning) {
        return Future.succeededFuture(status.status());
      }
      return MigrationFailures.qemu(source.vm(), source.connection().cont()).map("running");
    });
  }

  private void onMonitorEvent(MigrationEvent event) {
    listener.onEvent(event);
    if (event instanceof MigrationEvent.StatusChanged s) {
      phase(s.record().role(), s.record().phase());
    } else if (event instanceof MigrationEvent.RunState r && r.role() == MigrationRole.SOURCE
        && r.event().equals("STOP") && migrateSent) {
      phase(MigrationRole.SOURCE, MigrationPhase.SWITCHOVER);
    }
  }

  private void phase(MigrationRole role, MigrationPhase phase) {
    for (MigratingFunction f : request.functions()) {
      FunctionStrategy.of(f.strategy()).onPhase(context, f, role, phase);
    }
  }

  private void enter(CoordinationState next, String detail) {
    state = next;
    listener.onEvent(new MigrationEvent.Coordination(source.vm(), next, detail));
  }

  private void end() {
    sourceMonitor.close();
    if (destinationMonitor != null) {
      destinationMonitor.close();
    }
  }
}
