package io.qmpsidecar.sidecar.migration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Follows the migrations of one QEMU (one end): enables the {@code events} capability, turns
 * {@code MIGRATION}, {@code MIGRATION_PASS}, {@code STOP}, {@code RESUME}, {@code VFIO_MIGRATION},
 * {@code UNPLUG_PRIMARY} and {@code FAILOVER_NEGOTIATED} into a {@link MigrationRecord} and
 * {@link MigrationEvent}s, and on the source polls {@code query-migrate} at
 * {@link MigrationMonitorOptions#pollInterval()} while a migration is active (a Vert.x timer;
 * nothing blocks). All state lives on the monitor's own context (the caller's when constructed on
 * one, else a new event-loop context); {@link #record()} may be read from any thread.
 */
public final class MigrationMonitor {
  static final Set<String> EVENTS = Set.of("MIGRATION", "MIGRATION_PASS", "STOP", "RESUME",
      "VFIO_MIGRATION", "UNPLUG_PRIMARY", "FAILOVER_NEGOTIATED");
  private static final int MAX_WAITERS = 16;

  private final Vertx vertx;
  private final QmpConnection connection;
  private final MigrationRole role;
  private final MigrationMonitorOptions options;
  private final MigrationListener listener;
  private final Set<String> devicesWithVfioEvents = ConcurrentHashMap.newKeySet();
  private final List<Promise<MigrationRecord>> waiters = new ArrayList<>();
  /** How long a lost QMP connection may stay lost before the migration is given up as failed. */
  static final Duration LOST_GRACE = Duration.ofSeconds(2);
  private long lostTimer = -1;
  private volatile MigrationRecord record;
  private final Context context;
  private QmpSubscription subscription;
  private StallDetector stall;
  private long pollTimer = -1;
  private boolean pollInFlight;

  public MigrationMonitor(Vertx vertx, String vm, MigrationRole role, QmpConnection connection,
      MigrationMonitorOptions options, MigrationListener listener) {
    this.vertx = vertx;
    this.connection = connection;
    this.role = role;
    this.options = options;
    this.listener = listener;
    this.record = MigrationRecord.none(vm, role);
    this.context = vertx.getOrCreateContext();
  }

  /**
   * Subscribes to the events, enables the {@code events} migration capability and reads the
   * current migration state (polling starts at once if one is active).
   *
   * @return completes when the monitor follows the VM; fails with {@link io.qmpsidecar.sidecar.failure.Failures#qemuRefused}
   *     when QEMU refuses the capability, or the connection's error when it is not ready
   */
  public Future<Void> start() {
    subscription = connection.subscribe(new EventFilter(EVENTS, e -> true), options.eventQueue(),
        new QmpEventListener() {
          @Override
          public void onEvent(QmpEvent event) {
            onContext(() -> handle(event));
          }

          @Override
          public void onGap(EventGap gap) {
            onContext(() -> refresh());
          }
        });
    Promise<Void> started = Promise.promise();
    MigrationFailures.qemu(vm(), connection.migrateSetCapabilities(Map.of("events", true)))
        // QEMU refuses capability changes while a migration runs; one already running (found
        // after a restart) is followed by polling, and by its events if they were enabled.
        .recover(e -> connection.queryMigrate().compose(info -> info.isActive()
            ? Future.<Void>succeededFuture() : Future.<Void>failedFuture(e)))
        .compose(v -> connection.queryMigrate())
        .onComplete(r -> onContext(() -> {
          if (r.failed()) {
            started.fail(r.cause());
            return;
          }
          MigrationInfo info = r.result();
          MigrationPhase phase = MigrationPhase.of(info.status());
          if (phase != MigrationPhase.NONE && record.phase() == MigrationPhase.NONE) {
            record = record.enter(phase, info.status(), Instant.now());
            update(info);
          }
          if (info.isActive()) {
            startPolling();
          }
          started.complete();
        }));
    return started.future();
  }

  public String vm() {
    return record.vm();
  }

  public MigrationRole role() {
    return role;
  }

  /** The latest snapshot; never null. */
  public MigrationRecord record() {
    return record;
  }

  /** Whether QEMU sent a {@code VFIO_MIGRATION} event for {@code device} since the monitor started. */
  public boolean reportsVfioStates(String device) {
    return devicesWithVfioEvents.contains(device);
  }

  /**
   * Completes with the record when the next migration status that ends a migration
   * ({@code completed}, {@code failed}, {@code cancelled}) arrives after this call, with QEMU's
   * final figures and error text filled in.
   *
   * @return fails with a {@code migration-failed} {@link io.qmpsidecar.sidecar.failure.SidecarException} when none arrives within {@code timeout}, when
   *     too many callers already wait, or when the monitor is closed
   */
  public Future<MigrationRecord> nextEnd(Duration timeout) {
    Promise<MigrationRecord> promise = Promise.promise();
    context.runOnContext(v -> {
      if (waiters.size() >= MAX_WAITERS) {
        promise.fail(MigrationFailures.failed(vm(), MAX_WAITERS + " callers already wait for the end of the migration of "
            + vm() + "; wait on an existing future", null));
        return;
      }
      waiters.add(promise);
      long timer = vertx.setTimer(timeout.toMillis(), t -> {
        if (waiters.remove(promise)) {
          promise.fail(MigrationFailures.failed(vm(), "the migration of " + vm() + " did not end within " + timeout
              + " (QEMU status " + record.qemuStatus() + "); cancel it or raise the timeout", null));
        }
      });
      promise.future().onComplete(r -> vertx.cancelTimer(timer));
    });
    return promise.future();
  }

  /** Stops following the VM: cancels the subscription and the poll timer, fails waiters. */
  public void close() {
    if (subscription != null) {
      subscription.cancel();
    }
    context.runOnContext(v -> {
      stopPolling();
      vertx.cancelTimer(lostTimer);
      List<Promise<MigrationRecord>> pending = new ArrayList<>(waiters);
      waiters.clear();
      pending.forEach(p -> p.tryFail(MigrationFailures.failed(vm(), "the monitor of " + vm() + " was closed", null)));
    });
  }

  private void handle(QmpEvent event) {
    switch (event.name()) {
      case "MIGRATION" -> onStatus(event);
      case "MIGRATION_PASS" -> onPass(event);
      case "STOP", "RESUME" -> onRunState(event);
      case "VFIO_MIGRATION" -> {
        String device = event.text("device-id");
        devicesWithVfioEvents.add(device);
        listener.onEvent(new MigrationEvent.VfioState(vm(), device, event.text("device-state"), false));
      }
      case "UNPLUG_PRIMARY" -> listener.onEvent(new MigrationEvent.Failover(vm(), "unplugPrimary", event.text("device-id")));
      case "FAILOVER_NEGOTIATED" -> listener.onEvent(new MigrationEvent.Failover(vm(), "negotiated", event.text("device-id")));
      default -> { }
    }
  }

  private void onStatus(QmpEvent event) {
    String status = event.text("status");
    MigrationPhase phase = MigrationPhase.of(status);
    if ((record.phase() == MigrationPhase.NONE || record.phase().isTerminal()) && !phase.isTerminal()) {
      record = MigrationRecord.none(vm(), role);
      stall = new StallDetector(options.stallPasses());
    }
    if (phase.isTerminal() && record.phase().isTerminal()) {
      // The end was already reported (by QEMU's event or by a poll): report it once.
      return;
    }
    record = record.enter(phase, status, event.timestamp());
    if (phase.isTerminal()) {
      stopPolling();
      connection.queryMigrate().onComplete(r -> onContext(() -> {
        if (r.succeeded()) {
          update(r.result());
        }
        listener.onEvent(new MigrationEvent.StatusChanged(vm(), record));
        List<Promise<MigrationRecord>> done = new ArrayList<>(waiters);
        waiters.clear();
        done.forEach(p -> p.tryComplete(record));
      }));
      return;
    }
    listener.onEvent(new MigrationEvent.StatusChanged(vm(), record));
    startPolling();
  }

  private void onPass(QmpEvent event) {
    long pass = event.data().path("pass").asLong(-1);
    connection.queryMigrate().onComplete(r -> onContext(() -> {
      long remaining = r.succeeded() ? r.result().ramRemaining() : -1;
      if (r.succeeded()) {
        update(r.result());
      }
      record = record.withPass(new PassTiming(pass, event.timestamp(), remaining));
      if (stall != null && stall.onPass(remaining) && !record.stalled()) {
        record = record.withStalled();
        listener.onEvent(new MigrationEvent.Stalled(vm(), record));
      }
    }));
  }

  private void onRunState(QmpEvent event) {
    MigrationPhase phase = record.phase();
    if (phase == MigrationPhase.NONE) {
      return;
    }
    if (event.name().equals("STOP") && !phase.isTerminal()) {
      record = record.withRunState(event.timestamp(), null);
    } else if (event.name().equals("RESUME") && record.resumedAt() == null) {
      record = record.withRunState(record.stoppedAt(), event.timestamp());
    } else {
      return;
    }
    listener.onEvent(new MigrationEvent.RunState(vm(), role, event.name()));
  }

  private void startPolling() {
    if (pollTimer >= 0 || role != MigrationRole.SOURCE) {
      return;
    }
    pollTimer = vertx.setPeriodic(options.pollInterval().toMillis(), t -> poll());
  }

  private void stopPolling() {
    if (pollTimer >= 0) {
      vertx.cancelTimer(pollTimer);
      pollTimer = -1;
    }
  }

  private void poll() {
    if (pollInFlight) {
      return;
    }
    pollInFlight = true;
    connection.queryMigrate().onComplete(r -> onContext(() -> {
      pollInFlight = false;
      if (r.succeeded() && !record.phase().isTerminal()) {
        update(r.result());
        MigrationPhase polled = MigrationPhase.of(r.result().status());
        if (!r.result().isActive() && polled != MigrationPhase.NONE) {
          // The end came without a MIGRATION event (events off, or missed): report it anyway.
          handle(new QmpEvent("MIGRATION", JsonNodeFactory.instance.objectNode().put("status", r.result().status()),
              Instant.now()));
        }
      } else if (r.failed() && r.cause() instanceof QmpConnectionException && !record.phase().isTerminal()
          && lostTimer < 0) {
        // Decide later: events QEMU sent before its socket closed (e.g. "completed") are still
        // queued for delivery, and a connection that only blinked comes back.
        Throwable cause = r.cause();
        lostTimer = vertx.setTimer(LOST_GRACE.toMillis(), t -> onContext(() -> {
          lostTimer = -1;
          if (!record.phase().isTerminal() && connection.state() != QmpState.READY) {
            lost(cause);
          }
        }));
      }
    }));
  }

  /**
   * QEMU went away while migrating (it exited or was killed): nothing will report an end, so the
   * migration ends here as failed, naming why, instead of waiting for its timeout.
   */
  private void lost(Throwable cause) {
    record = record.withProgress(record.progress(), record.downtimeMs(), record.totalTimeMs(), record.setupTimeMs(),
        "lost QEMU while migrating: " + cause.getMessage());
    stopPolling();
    record = record.enter(MigrationPhase.FAILED, "failed", Instant.now());
    listener.onEvent(new MigrationEvent.StatusChanged(vm(), record));
    List<Promise<MigrationRecord>> done = new ArrayList<>(waiters);
    waiters.clear();
    done.forEach(p -> p.tryComplete(record));
  }

  /** After a reconnect or dropped events: re-read the status so a missed end is not waited on forever. */
  private void refresh() {
    connection.queryMigrate().onSuccess(info -> onContext(() -> {
      MigrationPhase phase = MigrationPhase.of(info.status());
      if (phase != record.phase() && phase != MigrationPhase.NONE) {
        handle(new QmpEvent("MIGRATION", JsonNodeFactory.instance.objectNode().put("status", info.status()),
            Instant.now()));
      }
    }));
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void update(MigrationInfo info) {
    MigrationProgress progress = new MigrationProgress(info.ramTransferred(), info.ramRemaining(),
        info.ramTotal(), info.dirtyPagesRate(), info.expectedDowntimeMs(), info.dirtySyncCount());
    record = record.withProgress(progress, info.downtimeMs(), info.totalTimeMs(), info.setupTimeMs(), info.errorDesc());
  }
}
