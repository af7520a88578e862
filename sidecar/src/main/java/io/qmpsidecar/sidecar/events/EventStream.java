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
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * The sidecar's in-process event stream. Every published event gets the next id and goes into a
 * bounded ring log (for resuming with {@link #since(long)}) and to every matching subscriber's
 * bounded queue. Ids start above the {@link EventEpoch}'s base, so they stay unique and
 * increasing across daemon runs. Thread-safe: any thread may publish; ids are assigned, logged and
 * fanned out in one order, so every subscriber sees events in id order.
 */
public final class EventStream {
  private final Vertx vertx;
  private final Clock clock;
  private final int logCapacity;
  private final EventEpoch epoch;
  private final ArrayDeque<SidecarEvent> log = new ArrayDeque<>();
  private final List<SubscriberQueue> subscribers = new CopyOnWriteArrayList<>();
  private long lastId;

  /**
   * A stream whose ids start at 1 and are kept nowhere ({@link EventEpoch#inMemory}).
   *
   * @param logCapacity how many recent events {@link #since(long)} can replay (at least 1)
   */
  public EventStream(Vertx vertx, Clock clock, int logCapacity) {
    this(vertx, clock, logCapacity, EventEpoch.inMemory(clock));
  }

  /**
   * A stream whose ids start above {@code epoch}'s base.
   *
   * @param logCapacity how many recent events {@link #since(long)} can replay (at least 1)
   */
  public EventStream(Vertx vertx, Clock clock, int logCapacity, EventEpoch epoch) {
    if (logCapacity < 1) {
      throw new IllegalArgumentException("logCapacity must be >= 1, got " + logCapacity);
    }
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.logCapacity = logCapacity;
    this.epoch = Objects.requireNonNull(epoch, "epoch");
    this.lastId = epoch.base();
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
      epoch.issued(event.id());
      for (SubscriberQueue s : subscribers) {
        s.offer(event);
      }
      return event;
    }
  }

  /** The id of the newest event; before this run's first, this run's base. */
  public long lastId() {
    synchronized (log) {
      return lastId;
    }
  }

  /** This run's first id (it may not have been handed out yet). */
  public long firstId() {
    return epoch.base() + 1;
  }

  /** When this run of the stream started. */
  public Instant started() {
    return epoch.started();
  }

  /** How many recent events {@link #since(long)} can replay. */
  public int logCapacity() {
    return logCapacity;
  }

  /**
   * The retained events after {@code afterId} ({@code 0} or this run's base: from this run's
   * first), with a gap when
   * some are missing: {@code afterId} is from an earlier run ({@code RESTARTED}) or one this run
   * has not handed out ({@code UNKNOWN}), in which case the replay starts with this run's first
   * event, or the log no longer holds the event right after it ({@code EVICTED}).
   */
  public EventReplay since(long afterId) {
    synchronized (log) {
      long base = epoch.base();
      EventReplay.Reason reason = null;
      long after = afterId;
      // The base itself is no earlier run's loss: every id before this run's first is at most the base.
      if (afterId > 0 && afterId < base) {
        reason = EventReplay.Reason.RESTARTED;
        after = base;
      } else if (afterId > lastId) {
        reason = EventReplay.Reason.UNKNOWN;
        after = base;
      } else if (afterId <= 0) {
        after = base;
      }
      List<SidecarEvent> out = new ArrayList<>();
      for (SidecarEvent e : log) {
        if (e.id() > after) {
          out.add(e);
        }
      }
      long oldest = log.isEmpty() ? lastId + 1 : log.peekFirst().id();
      boolean evicted = after < lastId && after + 1 < oldest;
      if (reason == null && evicted) {
        reason = EventReplay.Reason.EVICTED;
      }
      Optional<EventReplay.Gap> gap = reason == null ? Optional.empty()
          : Optional.of(new EventReplay.Gap(reason, afterId, base + 1, epoch.started(), oldest, evicted));
      return new EventReplay(out, after, gap);
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
