package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.function.Supplier;

/**
 * Runs one VM's mutating operations one at a time, in submission order, with at most
 * {@code bound} waiting. Thread-safe.
 */
final class VmQueue {
  private final String vm;
  private final int bound;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private boolean running;

  VmQueue(String vm, int bound) {
    this.vm = vm;
    this.bound = bound;
  }

  /**
   * Runs {@code work} after the operations before it; fails with {@link Kind#BUSY}
   * ({@code vm-busy}) when {@code bound} already wait.
   */
  <T> Future<T> submit(Supplier<Future<T>> work) {
    Promise<T> result = Promise.promise();
    Runnable task = () -> {
      Future<T> f;
      try {
        f = work.get();
      } catch (RuntimeException e) {
        f = Future.failedFuture(e);
      }
      f.onComplete(ar -> {
        next();
        result.handle(ar);
      });
    };
    synchronized (this) {
      if (running) {
        if (waiting.size() >= bound) {
          return Future.failedFuture(SidecarException.of(Kind.BUSY, "vm-busy", "VM " + vm + " already has " + bound
              + " operations queued").vm(vm).detail("limit", bound).fix("retry when they have finished").build());
        }
        waiting.addLast(task);
        return result.future();
      }
      running = true;
    }
    task.run();
    return result.future();
  }

  /** Operations waiting behind the running one. */
  synchronized int waiting() {
    return waiting.size();
  }

  private void next() {
    Runnable task;
    synchronized (this) {
      task = waiting.pollFirst();
      if (task == null) {
        running = false;
        return;
      }
    }
    task.run();
  }
}
