package io.qmpsidecar.qmp.impl;

import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subscriber: a bounded queue drained on the connection's context in a later task, so
 * QEMU's socket is read on without waiting for listeners. State is confined to that context;
 * only the counters are read from other threads.
 */
final class SubscriptionImpl implements QmpSubscription {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriptionImpl.class);

  private final Context context;
  private final EventFilter filter;
  private final int capacity;
  private final QmpEventListener listener;
  private final EventDispatcher owner;
  /** Holds {@link QmpEvent}s and {@link EventGap}s in stream order. */
  private final ArrayDeque<Object> queue = new ArrayDeque<>();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong delivered = new AtomicLong();
  private boolean paused;
  private boolean drainScheduled;
  private boolean gapPending;
  private boolean cancelled;

  SubscriptionImpl(Context context, EventFilter filter, int capacity, QmpEventListener listener,
      EventDispatcher owner) {
    this.context = context;
    this.filter = filter;
    this.capacity = capacity;
    this.listener = listener;
    this.owner = owner;
  }

  void offer(QmpEvent event) {
    if (cancelled || !filter.test(event)) {
      return;
    }
    if (queue.size() >= capacity) {
      dropped.incrementAndGet();
      gapPending = true;
      return;
    }
    if (gapPending) {
      queue.add(EventGap.DROPPED);
      gapPending = false;
    }
    queue.add(event);
    scheduleDrain();
  }

  void gap(EventGap gap) {
    if (!cancelled) {
      // Events dropped before this gap are reported before it, where they were in the stream.
      if (gapPending) {
        queue.add(EventGap.DROPPED);
        gapPending = false;
      }
      queue.add(gap);
      scheduleDrain();
    }
  }

  @Override
  public long dropped() {
    return dropped.get();
  }

  @Override
  public long delivered() {
    return delivered.get();
  }

  @Override
  public void pause() {
    onContext(() -> paused = true);
  }

  @Override
  public void resume() {
    onContext(() -> {
      paused = false;
      scheduleDrain();
    });
  }

  @Override
  public void cancel() {
    onContext(() -> {
      cancelled = true;
      queue.clear();
      owner.remove(this);
    });
  }

  /**
   * Runs {@code action} now when called on the connection's context (from a listener, so that a
   * pause or cancel there holds from the next event on), else in a task on it.
   */
  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void scheduleDrain() {
    if (!drainScheduled && !paused && (!queue.isEmpty() || gapPending)) {
      drainScheduled = true;
      context.runOnContext(v -> drain());
    }
  }

  private void drain() {
    drainScheduled = false;
    while (!paused && !cancelled && !queue.isEmpty()) {
      deliver(queue.pollFirst());
    }
    // Events were dropped after the last one queued: the listener hears it now, not with the next event.
    if (gapPending && queue.isEmpty() && !paused && !cancelled) {
      gapPending = false;
      deliver(EventGap.DROPPED);
    }
  }

  private void deliver(Object item) {
    try {
      if (item instanceof QmpEvent event) {
        delivered.incrementAndGet();
        listener.onEvent(event);
      } else {
        listener.onGap((EventGap) item);
      }
    } catch (RuntimeException e) {
      LOG.warn("QMP event listener failed on {}; it stays subscribed", item, e);
    }
  }
}
