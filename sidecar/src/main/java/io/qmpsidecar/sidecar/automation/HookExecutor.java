package io.qmpsidecar.sidecar.automation;

import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one hook's program: at most {@code concurrency} at once, each on a worker thread of the
 * hook's own pool (a hung hook holds only its own threads, never an event loop or another hook),
 * and at most {@code queue} waiting for a free one. Thread-safe.
 */
final class HookExecutor {
  /** Slack on top of the timeout before Vert.x would report the worker thread as blocked. */
  private static final long BLOCKED_SLACK_MS = 5_000;

  private final SidecarConfig.Hook hook;
  private final WorkerExecutor worker;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private int running;

  HookExecutor(Vertx vertx, SidecarConfig.Hook hook) {
    this.hook = hook;
    this.worker = vertx.createSharedWorkerExecutor("qmp-sidecar-hook-" + hook.name(), hook.concurrency(),
        hook.timeout().toMillis() + BLOCKED_SLACK_MS, TimeUnit.MILLISECONDS);
  }

  SidecarConfig.Hook hook() {
    return hook;
  }

  /**
   * Runs the program with this input and environment when a slot is free.
   *
   * @return the run's result; fails at once with {@link SidecarException} {@code BUSY}
   *     ({@code hook-busy}) when {@code queue} runs already wait
   */
  Future<HookProcess.Result> submit(Map<String, String> environment, byte[] input) {
    Promise<HookProcess.Result> result = Promise.promise();
    Runnable task = () -> worker.<HookProcess.Result>executeBlocking(
        () -> HookProcess.run(hook.run(), environment, input, hook.timeout()), false)
        .onComplete(ar -> {
          next();
          result.handle(ar);
        });
    synchronized (this) {
      if (running >= hook.concurrency()) {
        if (waiting.size() >= hook.queue()) {
          return Future.failedFuture(SidecarException.of(Kind.BUSY, "hook-busy", "hook " + hook.name() + " already runs "
              + hook.concurrency() + " and has " + hook.queue() + " waiting").fix("retry later, or raise the hook's"
              + " concurrency or queue").build());
        }
        waiting.addLast(task);
        return result.future();
      }
      running++;
    }
    task.run();
    return result.future();
  }

  private void next() {
    Runnable task;
    synchronized (this) {
      task = waiting.pollFirst();
      if (task == null) {
        running--;
        return;
      }
    }
    task.run();
  }

  /** Closes the hook's worker pool; runs in progress end at their timeout at the latest. */
  Future<Void> close() {
    synchronized (this) {
      waiting.clear();
    }
    return worker.close();
  }
}
