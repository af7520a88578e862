package io.qmpsidecar.sidecar.automation;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.vertx.core.Vertx;
import java.util.HashMap;
import java.util.Map;

/**
 * Reports dropped work without storming the stream itself: the first drop of a kind (VM, source,
 * reason) is published at once, later ones within {@link #WINDOW_MS} are counted and published
 * together when the window ends. Thread-safe.
 */
final class DropReports {
  static final long WINDOW_MS = 1_000;

  private final Vertx vertx;
  private final EventStream events;
  private final String type;
  /** Drops counted and not yet reported, per open window. */
  private final Map<Key, Window> windows = new HashMap<>();

  private record Key(String vm, String source, String reason) {}

  private static final class Window {
    long count;
    ObjectNode data;
  }

  DropReports(Vertx vertx, EventStream events, String type) {
    this.vertx = vertx;
    this.events = events;
    this.type = type;
  }

  /**
   * {@code count} items were dropped; {@code data} says what (it gains {@code dropped}, the count
   * of its report).
   */
  void dropped(String vm, String source, String reason, long count, ObjectNode data) {
    Key key = new Key(vm, source, reason);
    synchronized (this) {
      Window open = windows.get(key);
      if (open != null) {
        open.count += count;
        open.data = data;
        return;
      }
      windows.put(key, new Window());
    }
    publish(vm, data, count);
    vertx.setTimer(WINDOW_MS, t -> close(key));
  }

  private void close(Key key) {
    Window window;
    synchronized (this) {
      window = windows.remove(key);
    }
    if (window != null && window.count > 0) {
      publish(key.vm(), window.data, window.count);
    }
  }

  private void publish(String vm, ObjectNode data, long count) {
    events.publish(vm, type, null, data.deepCopy().put("dropped", count));
  }
}
