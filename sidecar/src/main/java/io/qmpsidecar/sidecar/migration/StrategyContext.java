package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/** What a {@link FunctionStrategy} may use during one coordinated migration. Thread-safe. */
public final class StrategyContext {
  private final Vertx vertx;
  private final MigrationEndpoint source;
  private final MigrationEndpoint destination;
  private final MigrationCoordinatorOptions options;
  private final MigrationListener listener;
  private final MigrationMonitor sourceMonitor;
  private final MigrationMonitor destinationMonitor;
  private final Map<String, String> lastDerivedState = new ConcurrentHashMap<>();

  StrategyContext(Vertx vertx, MigrationEndpoint source, MigrationEndpoint destination,
      MigrationCoordinatorOptions options, MigrationListener listener, MigrationMonitor sourceMonitor,
      MigrationMonitor destinationMonitor) {
    this.vertx = vertx;
    this.source = source;
    this.destination = destination;
    this.options = options;
    this.listener = listener;
    this.sourceMonitor = sourceMonitor;
    this.destinationMonitor = destinationMonitor;
  }

  /** The migrating (source) VM. */
  public String vm() {
    return source.vm();
  }

  /** The destination VM's name, or the source's when the coordinator does not drive the destination. */
  public String destinationVm() {
    return destination == null ? source.vm() : destination.vm();
  }

  public FunctionHotplug sourceHotplug() {
    if (source.hotplug() == null) {
      throw MigrationFailures.failed(source.vm(), "no hotplug is configured for " + source.vm()
          + ": strategy unplug-replug needs one on the source endpoint", null);
    }
    return source.hotplug();
  }

  /** The destination's hotplug, or null when the coordinator does not attach on the destination. */
  public FunctionHotplug destinationHotplug() {
    return destination == null ? null : destination.hotplug();
  }

  public MigrationCoordinatorOptions options() {
    return options;
  }

  /** Tells the DPU and the event stream about a step of {@code function}. */
  public void step(MigratingFunction function, String step, String detail) {
    listener.onEvent(new MigrationEvent.FunctionStep(vm(), function.deviceId(), function.strategy(),
        function.reason(), step, detail));
  }

  /** Whether QEMU on that end reports the device's VFIO states itself. */
  public boolean reportsVfioStates(MigrationRole role, String device) {
    MigrationMonitor monitor = role == MigrationRole.SOURCE ? sourceMonitor : destinationMonitor;
    return monitor != null && monitor.reportsVfioStates(device);
  }

  /** Emits a derived VFIO state once per change of state per end. */
  public void derivedVfioState(MigrationRole role, String device, String state) {
    String vm = role == MigrationRole.SOURCE ? vm() : destinationVm();
    if (!state.equals(lastDerivedState.put(role + "/" + device, state))) {
      listener.onEvent(new MigrationEvent.VfioState(vm, device, state, true));
    }
  }

  /**
   * Runs {@code action} up to {@link MigrationCoordinatorOptions#attachAttempts()} times with
   * {@link MigrationCoordinatorOptions#attachRetryDelay()} between attempts (a timer, never a
   * sleep); fails with the last attempt's error, prefixed with {@code what}.
   */
  public Future<Void> retry(String what, Supplier<Future<Void>> action) {
    Promise<Void> promise = Promise.promise();
    attempt(what, action, 1, promise);
    return promise.future();
  }

  private void attempt(String what, Supplier<Future<Void>> action, int n, Promise<Void> promise) {
    action.get().onComplete(r -> {
      if (r.succeeded()) {
        promise.complete();
      } else if (n >= options.attachAttempts()) {
        promise.fail(MigrationFailures.failed(vm(), "cannot " + what + " after " + n + " attempts: "
            + r.cause().getMessage(), r.cause()));
      } else {
        vertx.setTimer(options.attachRetryDelay().toMillis(), t -> attempt(what, action, n + 1, promise));
      }
    });
  }
}
