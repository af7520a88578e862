package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventReplay;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.Failures;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Predicate;

/**
 * {@code GET /v1/events}: the sidecar's event stream as Server-Sent Events, or as NDJSON with
 * {@code Accept: application/x-ndjson} or {@code ?format=ndjson}. {@code Last-Event-ID} (or
 * {@code ?since=ID}) replays what the event log still holds after that id; when it no longer
 * holds all of it, a {@code gap} event says so first. A consumer that falls more than
 * {@link #QUEUE} events or {@link #WRITE_QUEUE_BYTES} of unsent output behind is cut off with a
 * final {@code error} event naming why: it never slows QEMU or the other consumers.
 */
final class EventRoutes {
  static final int QUEUE = 1024;
  static final long HEARTBEAT_MS = 15_000;
  /** Unsent output per consumer before it is cut off. */
  static final int WRITE_QUEUE_BYTES = 256 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Vertx vertx;
  private final EventStream events;

  EventRoutes(Vertx vertx, EventStream events) {
    this.vertx = vertx;
    this.events = events;
  }

  void mount(Router router) {
    router.get("/v1/events").handler(this::stream);
  }

  private void stream(RoutingContext ctx) {
    EventFilterParams params = EventFilterParams.from(ctx.queryParams());
    boolean ndjson = "ndjson".equals(ctx.queryParams().get("format"))
        || String.valueOf(ctx.request().getHeader("accept")).contains("application/x-ndjson");
    long since = lastEventId(ctx);
    Predicate<SidecarEvent> filter = params.predicate();
    HttpServerResponse response = ctx.response().setChunked(true)
        .putHeader("content-type", ndjson ? "application/x-ndjson" : "text/event-stream")
        .putHeader("cache-control", "no-cache").setWriteQueueMaxSize(WRITE_QUEUE_BYTES);
    Writer writer = new Writer(response, ndjson);
    writer.lastSent = since >= 0 ? since : events.lastId();
    // Subscribe before reading the log, then skip what the replay already sent: nothing is
    // missed between the two and nothing is sent twice.
    EventSubscription sub = events.subscribe(filter, QUEUE, new EventListener() {
      @Override
      public void onEvent(SidecarEvent event) {
        writer.event(event);
      }

      @Override
      public void onDropped(long count) {
        writer.cutOff("this consumer fell " + QUEUE + " events behind and " + count
            + " were dropped; reconnect with Last-Event-ID " + writer.lastSent + " to resume");
      }
    });
    long heartbeat = vertx.setPeriodic(HEARTBEAT_MS, t -> writer.heartbeat());
    Runnable cleanup = () -> {
      sub.cancel();
      vertx.cancelTimer(heartbeat);
    };
    response.closeHandler(v -> cleanup.run());
    response.endHandler(v -> cleanup.run());
    if (since >= 0) {
      EventReplay replay = events.since(since);
      if (!replay.complete()) {
        writer.gap("events after " + since + " are no longer in the log; re-read state (GET /v1/vms, devices) and go on");
      }
      replay.events().stream().filter(filter).forEach(writer::event);
    }
    writer.flushHeaders();
  }

  private static long lastEventId(RoutingContext ctx) {
    String id = ctx.request().getHeader("last-event-id");
    if (id == null) {
      id = ctx.queryParams().get("since");
    }
    if (id == null) {
      return -1;
    }
    try {
      return Long.parseLong(id.strip());
    } catch (NumberFormatException e) {
      throw Failures.badRequest("Last-Event-ID must be an event id (a number), got '" + id + "'");
    }
  }

  /** Writes one consumer's stream; runs on the subscriber's context. */
  private static final class Writer {
    private final HttpServerResponse response;
    private final boolean ndjson;
    long lastSent;
    private boolean ended;

    Writer(HttpServerResponse response, boolean ndjson) {
      this.response = response;
      this.ndjson = ndjson;
    }

    void flushHeaders() {
      if (!ended && !response.headWritten()) {
        response.write(ndjson ? "" : ": qmp-sidecar events\n\n");
      }
    }

    void event(SidecarEvent e) {
      if (ended || e.id() <= lastSent) {
        return;
      }
      if (response.writeQueueFull()) {
        cutOff("this consumer did not read " + WRITE_QUEUE_BYTES + " bytes of events in time; reconnect with"
            + " Last-Event-ID " + lastSent + " to resume");
        return;
      }
      lastSent = e.id();
      ObjectNode body = JSON.createObjectNode().put("id", e.id()).put("time", e.time().toString())
          .put("vm", e.vm()).put("type", e.type());
      if (e.opId() != null) {
        body.put("opId", e.opId());
      }
      body.set("data", e.data());
      response.write(ndjson ? body + "\n" : "id: " + e.id() + "\nevent: " + e.type() + "\ndata: " + body + "\n\n");
    }

    void gap(String why) {
      write("gap", why);
    }

    void heartbeat() {
      if (!ended) {
        response.write(ndjson ? "{\"type\":\"heartbeat\"}\n" : ": heartbeat\n\n");
      }
    }

    void cutOff(String why) {
      write("error", why);
      ended = true;
      response.end();
    }

    private void write(String type, String why) {
      if (ended) {
        return;
      }
      ObjectNode body = JSON.createObjectNode().put("type", type).put("detail", why);
      response.write(ndjson ? body + "\n" : "event: " + type + "\ndata: " + body + "\n\n");
    }
  }
}
