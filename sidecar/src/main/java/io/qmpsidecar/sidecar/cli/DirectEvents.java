package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpSubscription;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * QEMU's events read directly from its QMP socket ({@code events --qmp}), one at a time on the
 * CLI thread, in the shape of the sidecar's event stream without its {@code id}:
 * {@code {time, vm, type: "qmp.NAME", data}}, where {@code time} is QEMU's timestamp (also in
 * {@code data.qemuTimestamp}, as the sidecar publishes it) and {@code vm} is the name given with
 * {@code --vm}, if any. The listener runs on the event loop and only queues; beyond
 * {@link #CAPACITY} waiting events, further ones are dropped and reported as a gap.
 */
final class DirectEvents implements EventsCommand.Source {
  /** Events waiting for the CLI thread at most. */
  static final int CAPACITY = 1024;

  /** An event or gap line, or the end of the session with why it ended. */
  private record Item(JsonNode line, String end) {}

  private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final String vm;
  /** Touched only on the connection's event loop. */
  private long dropped;
  private volatile QmpSubscription subscription;

  private DirectEvents(String vm) {
    this.vm = vm;
  }

  /**
   * Subscribes before the socket opens (so nothing after the negotiation is missed), then
   * connects and negotiates.
   *
   * @param vm the name to put in each line, or null for none
   * @param filter which events to print; tested on the event loop
   */
  static DirectEvents open(DirectQmp session, String vm, Predicate<QmpEvent> filter) {
    DirectEvents events = new DirectEvents(vm);
    session.connect(connection -> {
      events.subscription = connection.subscribe(EventFilter.all().and(filter), CAPACITY, new QmpEventListener() {
        @Override
        public void onEvent(QmpEvent event) {
          events.offer(event);
        }

        @Override
        public void onGap(EventGap gap) {
          events.gap(gap == EventGap.DROPPED ? "QEMU events were dropped because this command did not print them"
              + " fast enough" : "the QMP connection was re-established; events in between were not seen");
        }
      });
      connection.onStateChange(state -> {
        if (state == QmpState.DISCONNECTED) {
          // After the events QEMU sent before it went away: their delivery is already scheduled.
          Vertx.currentContext().runOnContext(v -> events.queue.add(new Item(null, "QEMU at " + session.address()
              + " closed the QMP connection (it quit or was killed); nothing more to follow")));
        }
      });
    });
    return events;
  }

  private void offer(QmpEvent e) {
    if (queue.size() >= CAPACITY) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      gap(dropped + " QEMU events were dropped because this command did not print them fast enough");
      dropped = 0;
    }
    ObjectNode line = JsonNodeFactory.instance.objectNode().put("time", e.timestamp().toString());
    if (vm != null) {
      line.put("vm", vm);
    }
    line.put("type", "qmp." + e.name());
    ObjectNode data = line.putObject("data");
    if (e.data().isObject()) {
      data.setAll((ObjectNode) e.data());
    }
    data.put("qemuTimestamp", e.timestamp().toString());
    queue.add(new Item(line, null));
  }

  private void gap(String detail) {
    queue.add(new Item(JsonNodeFactory.instance.objectNode().put("type", "gap").put("detail", detail), null));
  }

  /**
   * The next event or {@code gap} notice, waiting at most {@code wait}.
   *
   * @return the line, or null when none arrived within the wait
   * @throws SidecarException (exit 4) when QEMU closed the connection
   */
  @Override
  public JsonNode next(Duration wait) {
    Item item;
    try {
      item = queue.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiClient.failure(Kind.UNAVAILABLE, "interrupted while reading QEMU's events");
    }
    if (item != null && item.end() != null) {
      throw ApiClient.failure(Kind.UNAVAILABLE, item.end());
    }
    return item == null ? null : item.line();
  }

  /** Ends the subscription; the session closes with the command. */
  @Override
  public void close() {
    if (subscription != null) {
      subscription.cancel();
    }
  }
}
