package io.qmpsidecar.sidecar.events;

import io.vertx.core.Context;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One subscriber's bounded queue, filled by publishers on any thread and drained on the
 * subscriber's context in a later task, so publishing never runs listener code.
 */
final class SubscriberQueue implements EventSubscription {
  private static final Logger LOG = LoggerFactory.getLogger(SubscriberQueue.class);

  private final Context context;
  private final Predicate<SidecarEvent> filter;
  private final int capacity;
  private final EventListener listener;
  private final Consumer<SubscriberQueue> onCancel;
  /** {@link SidecarEvent}s, and {@link Long} drop counts where events were lost, in order. */
  private final ArrayDeque<Object> queue = new ArrayDeque<>();
  private long dropped;
  private long delivered;
  private boolean dropPending;
  private boolean drainScheduled;
  private boolean cancelled;

  SubscriberQueue(Context context, Predicate<SidecarEvent> filter, int capacity,
      EventListener listener, Consumer<SubscriberQueue> onCancel) {
    this.context = context;
    this.filter = filter;
    this.capacity = capacity;
    this.listener = listener;
    this.onCancel = onCancel;
  }

  void offer(SidecarEvent event) {
    if (!filter.test(event)) {
      return;
    }
    synchronized (this) {
      if (cancelled) {
        return;
      }
      if (queue.size() >= capacity) {
        dropped++;
        dropPending = true;
        return;
      }
      if (dropPending) {
        queue.addLast(dropped);
        dropPending = false;
      }
      queue.addLast(event);
      if (drainScheduled) {
        return;
      }
      drainScheduled = true;
    }
    context.runOnContext(v -> drain());
  }

  private void drain() {
    while (true) {
      Object next;
      synchronized (this) {
        next = cancelled ? null : queue.pollFirst();
        if (next == null) {
          drainScheduled = false;
          return;
        }
        if (next instanceof SidecarEvent) {
          delivered++;
        }
      }
      if (next instanceof SidecarEvent event) {
        call(() -> listener.onEvent(event));
      } else {
        long count = (Long) next;
        call(() -> listener.onDropped(count));
      }
    }
  }

  private void call(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.warn("sidecar event listener failed; it stays subscribed", e);
    }
  }

  @Override
  public synchronized long dropped() {
    return dropped;
  }

  @Override
  public synchronized long delivered() {
    return delivered;
  }

  @Override
  public void cancel() {
    synchronized (this) {
      cancelled = true;
      queue.clear();
    }
    onCancel.accept(this);
  }
}
