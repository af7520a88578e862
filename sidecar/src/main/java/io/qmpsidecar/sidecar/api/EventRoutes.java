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
import java.util.Locale;
import java.util.function.Predicate;

/**
 * {@code GET /v1/events}: the sidecar's event stream as Server-Sent Events, or as NDJSON with
 * {@code Accept: application/x-ndjson} or {@code ?format=ndjson}. Every SSE event is of the
 * default type ({@code message}, no {@code event:} field) and carries its type inside its data,
 * so that {@code EventSource.onmessage} and any SSE client get all of them without knowing the
 * types in advance; each line of NDJSON is the same object. {@code Last-Event-ID} (or
 * {@code ?since=ID}) replays what the event log still holds after that id; when it does not hold
 * all of it (the id is from an earlier run of the daemon, from no run of it, or older than the
 * log) a {@code gap} object says so first, and what to re-read. A consumer that falls more than
 * {@link #QUEUE} events or {@link #WRITE_QUEUE_BYTES} of unsent output behind is cut off with a
 * final {@code error} object naming why: it never slows QEMU or the other consumers.
 */
final class EventRoutes {
  static final int QUEUE = 1024;
  static final long HEARTBEAT_MS = 15_000;
  /** How long an EventSource waits before it reconnects after the stream ended (SSE {@code retry:}). */
  static final long RETRY_MS = 1_000;
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
    // Subscribe before reading the log, then skip what the replay already sent: nothing is
    // missed between the two and nothing is sent twice. Deliveries run in a later task on this
    // context, after this handler has set lastSent.
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
    writer.start();
    if (since < 0) {
      writer.lastSent = events.lastId();
    } else {
      EventReplay replay = events.since(since);
      writer.lastSent = replay.after();
      replay.gap().ifPresent(writer::gap);
      replay.events().stream().filter(filter).forEach(writer::event);
    }
    writer.flushHeaders();
  }

  /** The gap object: why events are missing, what to re-read, where this run's events start. */
  private ObjectNode gap(EventReplay.Gap gap) {
    String reread = "re-read the state (GET /v1/vms, then GET /v1/vms/VM/devices and GET /v1/vms/VM/migration"
        + " of each VM)";
    String evicted = gap.evicted() ? "; events before " + gap.oldestId() + " are no longer in the log (it keeps the last "
        + events.logCapacity() + ")" : "";
    String detail = switch (gap.reason()) {
      case RESTARTED -> "the sidecar restarted at " + gap.started() + ": event " + gap.lastEventId()
          + " is from an earlier run, whose later events are lost; " + reread + ", then go on with this run's events,"
          + " from id " + gap.firstId() + evicted;
      case UNKNOWN -> "event " + gap.lastEventId() + " was not sent by this sidecar (this run started at "
          + gap.started() + " with id " + gap.firstId() + "): it comes from another sidecar or a state directory that"
          + " was reset; " + reread + ", then go on with this run's events" + evicted;
      case EVICTED -> "events after " + gap.lastEventId() + " are no longer in the log (it keeps the last "
          + events.logCapacity() + "; the oldest it holds is " + gap.oldestId() + "); " + reread + " and go on";
    };
    ObjectNode body = JSON.createObjectNode().put("type", "gap")
        .put("reason", gap.reason().name().toLowerCase(Locale.ROOT))
        .put("lastEventId", gap.lastEventId()).put("firstId", gap.firstId()).put("started", gap.started().toString())
        .put("oldestId", gap.oldestId()).put("detail", detail);
    body.putArray("reread").add("/v1/vms").add("/v1/vms/{vm}/devices").add("/v1/vms/{vm}/migration");
    return body;
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
  private final class Writer {
    private final HttpServerResponse response;
    private final boolean ndjson;
    long lastSent;
    private boolean ended;

    Writer(HttpServerResponse response, boolean ndjson) {
      this.response = response;
      this.ndjson = ndjson;
    }

    /** The SSE preamble: a comment, and how long an EventSource waits before it reconnects. */
    void start() {
      if (!ndjson) {
        response.write(": qmp-sidecar events\nretry: " + RETRY_MS + "\n\n");
      }
    }

    void flushHeaders() {
      if (!ended && !response.headWritten()) {
        response.write("");
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
      ObjectNode body = e.toJson();
      response.write(ndjson ? body + "\n" : "id: " + e.id() + "\ndata: " + body + "\n\n");
    }

    void gap(EventReplay.Gap g) {
      write(EventRoutes.this.gap(g));
    }

    void heartbeat() {
      if (!ended) {
        response.write(ndjson ? "{\"type\":\"heartbeat\"}\n" : ": heartbeat\n\n");
      }
    }

    void cutOff(String why) {
      write(JSON.createObjectNode().put("type", "error").put("detail", why));
      ended = true;
      response.end();
    }

    /** A notice without an id: an EventSource keeps the last event's id as its resume point. */
    private void write(ObjectNode body) {
      if (ended) {
        return;
      }
      response.write(ndjson ? body + "\n" : "data: " + body + "\n\n");
    }
  }
}
