package io.qmpsidecar.sidecar.events;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The sidecar's in-process event stream. Every published event gets the next id and goes into a
 * bounded ring log (for resuming with {@link #since(long)}) and to every matching subscriber's
 * bounded queue. Thread-safe: any thread may publish; ids are assigned, logged and fanned out in
 * one order, so every subscriber sees events in id order.
 */
public final class EventStream {
  /** Events kept for {@link #since(long)} unless the constructor says otherwise. */
  public static final int DEFAULT_LOG_CAPACITY = 4096;

  private final Vertx vertx;
  private final Clock clock;
  private final int logCapacity;
  private final ArrayDeque<SidecarEvent> log = new ArrayDeque<>();
  private final List<SubscriberQueue> subscribers = new CopyOnWriteArrayList<>();
  private long lastId;

  /**
   * @param logCapacity how many recent events {@link #since(long)} can replay (at least 1)
   */
  public EventStream(Vertx vertx, Clock clock, int logCapacity) {
    if (logCapacity < 1) {
      throw new IllegalArgumentException("logCapacity must be >= 1, got " + logCapacity);
    }
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.logCapacity = logCapacity;
  }

  /** Publishes an event and returns it with its id. Never blocks on subscribers. */
  public SidecarEvent publish(String vm, String type, String opId, JsonNode data) {
    return publish(vm, type, opId, data, null);
  }

  /**
   * Publishes a QEMU event: its {@code data} gains {@code qemuTimestamp}, QEMU's time of it, when
   * a reader first asks for it.
   */
  public SidecarEvent publishQemu(String vm, String type, JsonNode data, Instant qemuTimestamp) {
    return publish(vm, type, null, data, Objects.requireNonNull(qemuTimestamp, "qemuTimestamp"));
  }

  private SidecarEvent publish(String vm, String type, String opId, JsonNode data, Instant qemuTimestamp) {
    synchronized (log) {
      SidecarEvent event = new SidecarEvent(++lastId, clock.instant(), vm, type, opId, data, qemuTimestamp);
      if (log.size() == logCapacity) {
        log.removeFirst();
      }
      log.addLast(event);
      for (SubscriberQueue s : subscribers) {
        s.offer(event);
      }
      return event;
    }
  }

  /** The id of the newest event, 0 before the first. */
  public long lastId() {
    synchronized (log) {
      return lastId;
    }
  }

  /**
   * The retained events with an id greater than {@code afterId}. Incomplete when the log no
   * longer holds the event right after {@code afterId}.
   */
  public EventReplay since(long afterId) {
    synchronized (log) {
      List<SidecarEvent> out = new ArrayList<>();
      for (SidecarEvent e : log) {
        if (e.id() > afterId) {
          out.add(e);
        }
      }
      long oldest = log.isEmpty() ? lastId + 1 : log.peekFirst().id();
      boolean complete = afterId >= lastId || afterId + 1 >= oldest;
      return new EventReplay(out, complete);
    }
  }

  /**
   * Subscribes: matching events published from now on are queued (at most {@code capacity})
   * and handed to {@code listener} on the caller's Vert.x context (a new one when called
   * outside Vert.x).
   */
  public EventSubscription subscribe(Predicate<SidecarEvent> filter, int capacity, EventListener listener) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    Context context = vertx.getOrCreateContext();
    SubscriberQueue queue = new SubscriberQueue(context, Objects.requireNonNull(filter, "filter"),
        capacity, Objects.requireNonNull(listener, "listener"), subscribers::remove);
    subscribers.add(queue);
    return queue;
  }
}
