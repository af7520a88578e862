package io.qmpsidecar.relay.conformance;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A DPU end made of nothing but a WebSocket server on loopback: a host end under test dials it,
 * and the test reads and writes raw frames on each link. Accepts any path and records it.
 */
public final class WireDpu implements AutoCloseable {

  /** The largest frame the wire DPU reads: bigger than any limit the tests use. */
  static final int MAX_FRAME = 64 * 1024 * 1024;

  private final HttpServer server;
  private final BlockingQueue<WireLink> links = new ArrayBlockingQueue<>(1000);
  private final List<String> paths = new CopyOnWriteArrayList<>();

  public WireDpu(Vertx vertx) {
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)
        .setMaxWebSocketFrameSize(MAX_FRAME).setMaxWebSocketMessageSize(MAX_FRAME).setWebSocketClosingTimeout(1));
    server.webSocketHandler(ws -> {
      paths.add(ws.path());
      links.offer(new WireLink(ws));
    });
    Wire.await(server.listen());
  }

  public int port() {
    return server.actualPort();
  }

  /** The URL a host end must dial to reach this DPU on {@code path}. */
  public URI url(String path) {
    return URI.create("ws://127.0.0.1:" + port() + path);
  }

  /** The next link a host opened; fails the test after {@code wait}. */
  public WireLink awaitLink(Duration wait) {
    try {
      WireLink link = links.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
      if (link == null) {
        throw new AssertionError("the host end under test did not dial within " + wait.toMillis() + " ms");
      }
      return link;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public WireLink awaitLink() {
    return awaitLink(Wire.WAIT);
  }

  /** The HTTP paths of every WebSocket opened so far. */
  public List<String> paths() {
    return List.copyOf(paths);
  }

  @Override
  public void close() {
    Wire.await(server.close());
  }
}
