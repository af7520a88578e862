package io.qmpsidecar.sidecar.automation;

import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.OperationGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;

/**
 * The configured hooks (libvirt's hooks, for the sidecar): programs run on matching events, and
 * {@code prepare} programs the operations layer asks before an attach, a detach or a migration
 * ({@link #guard()}). Each hook has its own bounded concurrency, queue and worker threads, so a
 * hook that hangs or fails holds up neither the daemon nor another hook. docs/automation.md.
 */
public final class Hooks {
  private final EventHooks onEvents;
  private final PrepareHooks prepare;

  private Hooks(EventHooks onEvents, PrepareHooks prepare) {
    this.onEvents = onEvents;
    this.prepare = prepare;
  }

  /**
   * Builds the hooks of the configuration; none runs before {@link #start}, except that the
   * {@link #guard()} answers at once.
   *
   * @param apiSocket the API's Unix socket, passed to every hook as {@code QMP_SIDECAR_API}
   */
  public static Hooks create(Vertx vertx, List<SidecarConfig.Hook> config, EventStream events, SidecarMetrics metrics,
      Path apiSocket) {
    List<HookExecutor> onEvents = config.stream().filter(h -> !h.events().isEmpty())
        .map(h -> new HookExecutor(vertx, h)).toList();
    List<HookExecutor> prepare = config.stream().filter(h -> !h.prepare().isEmpty())
        .map(h -> new HookExecutor(vertx, h)).toList();
    return new Hooks(new EventHooks(vertx, onEvents, events, metrics, apiSocket),
        new PrepareHooks(prepare, events, metrics, apiSocket));
  }

  /** The prepare hooks, for the operations layer to ask ({@link OperationGuard}). */
  public OperationGuard guard() {
    return prepare;
  }

  /** Starts running the event hooks on the events published from now on. */
  public void start() {
    onEvents.start();
  }

  /** Stops following events and closes the hooks' threads; runs in progress end at their timeout at the latest. */
  public Future<Void> close() {
    return onEvents.close().compose(v -> prepare.close());
  }
}
