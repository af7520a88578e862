package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.parsetools.RecordParser;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/events} as NDJSON, read one event at a time on the CLI thread. The stream is
 * read on demand (one line per {@link #next}), so the queue between the event loop and the CLI
 * thread never holds more than a line and an end marker; heartbeats are skipped.
 */
final class EventsStream implements EventsCommand.Source {
  /** The longest event line accepted. */
  static final int MAX_LINE_BYTES = 1024 * 1024;
  /** Silence after which the stream counts as dead: the sidecar sends a heartbeat every 15 s. */
  static final Duration DEAD_AFTER = Duration.ofSeconds(45);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A line, or the end of the stream with why it ended. */
  private record Item(String line, String end) {}

  private final BlockingQueue<Item> queue = new ArrayBlockingQueue<>(4);
  private final HttpClientResponse response;
  private final Context context;
  private final RecordParser parser;

  private EventsStream(HttpClientResponse response) {
    this.response = response;
    this.context = Vertx.currentContext();
    this.parser = RecordParser.newDelimited("\n", response).maxRecordSize(MAX_LINE_BYTES);
    parser.pause();
    parser.handler(b -> queue.offer(new Item(b.toString(StandardCharsets.UTF_8), null)));
    parser.exceptionHandler(e -> queue.offer(new Item(null, "the event stream failed: " + e.getMessage())));
    parser.endHandler(v -> queue.offer(new Item(null, "the sidecar ended the event stream")));
    parser.fetch(1);
  }

  /**
   * Opens the stream with these filters.
   *
   * @param since replay the events after this id first, or -1 for new events only
   */
  static EventsStream open(ApiClient api, List<String> vms, List<String> types, Map<String, String> data, long since) {
    StringBuilder uri = new StringBuilder("/v1/events?format=ndjson");
    vms.forEach(vm -> param(uri, "vm", vm));
    if (!types.isEmpty()) {
      param(uri, "type", String.join(",", types));
    }
    data.forEach((field, value) -> param(uri, "data." + field, value));
    if (since >= 0) {
      param(uri, "since", Long.toString(since));
    }
    return api.stream(uri.toString(), DEAD_AFTER, EventsStream::new);
  }

  private static void param(StringBuilder uri, String name, String value) {
    uri.append('&').append(URLEncoder.encode(name, StandardCharsets.UTF_8)).append('=')
        .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
  }

  /**
   * The next event or {@code gap} notice, waiting at most {@code wait}.
   *
   * @return the line as JSON, or null when none arrived within the wait
   * @throws SidecarException when the stream ended, was cut off by the sidecar, or sent a line
   *     that is not JSON
   */
  @Override
  public JsonNode next(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      Item item;
      try {
        item = queue.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw ApiClient.failure(Kind.UNAVAILABLE, "interrupted while reading events");
      }
      if (item == null) {
        return null;
      }
      if (item.end() != null) {
        throw ApiClient.failure(Kind.UNAVAILABLE, item.end()
            + "; run qmp-sidecar events again with --since and the last id printed to resume");
      }
      context.runOnContext(v -> parser.fetch(1));
      JsonNode event = parse(item.line());
      String type = event.path("type").asText();
      if (type.equals("error")) {
        throw ApiClient.failure(Kind.UNAVAILABLE, "the sidecar cut off the event stream: "
            + event.path("detail").asText());
      }
      if (!type.equals("heartbeat")) {
        return event;
      }
    }
  }

  private static JsonNode parse(String line) {
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      throw ApiClient.failure(Kind.UNAVAILABLE, "the event stream sent a line that is not JSON ("
          + e.getMessage() + "); check that --api names a qmp-sidecar");
    }
  }

  /** Stops reading and closes the stream's connection. */
  @Override
  public void close() {
    context.runOnContext(v -> response.request().reset());
  }
}
