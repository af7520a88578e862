package io.qmpsidecar.libvirt.impl;

import io.qmpsidecar.libvirt.LibvirtClientException;
import io.qmpsidecar.libvirt.LibvirtTimeoutException;
import io.qmpsidecar.libvirt.LibvirtUnavailableException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.libvirt.LibvirtException;

/**
 * Runs blocking libvirt calls on a fixed pool of worker threads with a bounded queue, each
 * with a timeout that fails its future (the native call itself cannot be cancelled).
 */
public final class Calls {
  private final ThreadPoolExecutor workers;
  private final ScheduledThreadPoolExecutor timer;
  private final int maxQueued;

  public Calls(String name, int workerCount, int maxQueued) {
    this.maxQueued = maxQueued;
    this.workers = new ThreadPoolExecutor(workerCount, workerCount, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(maxQueued), threads(name + "-call-"));
    this.workers.allowCoreThreadTimeOut(true);
    this.timer = new ScheduledThreadPoolExecutor(1, threads(name + "-timer-"));
    this.timer.setRemoveOnCancelPolicy(true);
  }

  /** Work against one open connection; may block. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Session s) throws LibvirtException;
  }

  /**
   * Queues {@code work} on {@code session}. The future fails with {@link LibvirtUnavailableException}
   * at once when the queue is full, with {@link LibvirtTimeoutException} after {@code timeout}, and
   * with the call's own error otherwise.
   */
  public <T> CompletableFuture<T> submit(String operation, Duration timeout, Session session, Work<T> work) {
    Call<T> call = new Call<>(operation, session, work);
    try {
      workers.execute(call);
      ScheduledFuture<?> t = timer.schedule(() -> call.fail(new LibvirtTimeoutException(operation, timeout)),
          timeout.toMillis(), TimeUnit.MILLISECONDS);
      call.result.whenComplete((r, e) -> t.cancel(false));
    } catch (RejectedExecutionException e) {
      call.fail(new LibvirtUnavailableException(operation, workers.isShutdown() ? "the libvirt client is closed"
          : maxQueued + " libvirt calls are already waiting; libvirtd is slow or stuck: retry later", e));
    }
    return call.result;
  }

  /** Runs {@code task} after {@code delayMillis} on the timer thread (it must not block). */
  public void schedule(Runnable task, long delayMillis) {
    try {
      timer.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // Shut down: nothing more to schedule.
    }
  }

  /** Fails every waiting call and stops the threads; running calls end when libvirt returns. */
  public void shutdown() {
    for (Runnable r : workers.shutdownNow()) {
      if (r instanceof Call<?> c) {
        c.fail(new LibvirtUnavailableException(c.operation, "the libvirt client was closed"));
      }
    }
    timer.shutdownNow();
  }

  /** One queued call and its future. */
  private static final class Call<T> implements Runnable {
    final String operation;
    final Session session;
    final Work<T> work;
    final CompletableFuture<T> result = new CompletableFuture<>();

    Call(String operation, Session session, Work<T> work) {
      this.operation = operation;
      this.session = session;
      this.work = work;
    }

    void fail(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void run() {
      if (result.isDone()) {
        return;
      }
      try {
        result.complete(work.run(session));
      } catch (LibvirtException e) {
        fail(Session.translate(operation, e));
      } catch (LibvirtClientException e) {
        fail(e);
      } catch (RuntimeException e) {
        fail(new LibvirtClientException(operation, operation + ": " + e, e));
      }
    }
  }

  public static ThreadFactory threads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
