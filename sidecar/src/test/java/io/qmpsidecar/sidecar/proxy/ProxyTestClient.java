package io.qmpsidecar.sidecar.proxy;

import static io.qmpsidecar.qmp.testing.Await.result;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A Vert.x QMP client for the proxy tests: replies and events arrive in separate queues. */
final class ProxyTestClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long WAIT_SECONDS = 20;

  private final NetSocket socket;
  private final BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>(100_000);
  private final BlockingQueue<JsonNode> events = new LinkedBlockingQueue<>(100_000);
  private volatile boolean closed;

  ProxyTestClient(Vertx vertx, NetClient net, Path path) {
    // Connecting from an event loop completes the future there, before the socket's first read:
    // the handler is in place when the greeting arrives.
    Promise<NetSocket> connected = Promise.promise();
    vertx.getOrCreateContext().runOnContext(v -> net
        .connect(SocketAddress.domainSocketAddress(path.toString()))
        .onSuccess(s -> {
          s.handler(RecordParser.newDelimited("\n", this::onLine));
          s.closeHandler(c -> closed = true);
        })
        .onComplete(connected));
    socket = result(connected.future());
  }

  private void onLine(Buffer line) {
    try {
      JsonNode node = JSON.readTree(line.getBytes());
      boolean kept = node.has("event") ? events.offer(node) : replies.offer(node);
      if (!kept) {
        throw new IllegalStateException("test client queue full");
      }
    } catch (IOException e) {
      replies.offer(JSON.createObjectNode().put("unparsable", line.toString()));
    }
  }

  void send(String line) {
    socket.write(line + "\n");
  }

  /** The next greeting, reply or error line; fails after 20 s. */
  JsonNode reply() {
    return take(replies, "a reply");
  }

  JsonNode event() {
    return take(events, "an event");
  }

  JsonNode call(String line) {
    send(line);
    return reply();
  }

  /** Reads the greeting and negotiates; returns the greeting. */
  JsonNode negotiate(String capabilitiesArguments) {
    JsonNode greeting = reply();
    JsonNode ok = call("{\"execute\":\"qmp_capabilities\"" + capabilitiesArguments + "}");
    if (!ok.has("return")) {
      throw new AssertionError("negotiation failed: " + ok);
    }
    return greeting;
  }

  List<JsonNode> drainEvents() {
    List<JsonNode> all = new ArrayList<>();
    events.drainTo(all);
    return all;
  }

  boolean isClosed() {
    return closed;
  }

  private static JsonNode take(BlockingQueue<JsonNode> queue, String what) {
    try {
      JsonNode node = queue.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (node == null) {
        throw new AssertionError("no " + what + " from the proxy within " + WAIT_SECONDS + " s");
      }
      return node;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  @Override
  public void close() {
    result(socket.close());
  }
}
