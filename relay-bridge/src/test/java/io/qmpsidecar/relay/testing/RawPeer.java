package io.qmpsidecar.relay.testing;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/** A raw WebSocket client speaking whatever the test writes, for protocol edge cases. */
public final class RawPeer {

  private final WebSocketClient client;
  private final WebSocket ws;
  private final BlockingQueue<String> inbox = new ArrayBlockingQueue<>(10_000);
  private volatile boolean closed;

  public RawPeer(Vertx vertx, int port) {
    client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxFrameSize(64 * 1024));
    ws = Await.result(client.connect(port, "127.0.0.1", "/relay"));
    ws.textMessageHandler(inbox::offer);
    ws.closeHandler(v -> closed = true);
  }

  public void send(String text) {
    Await.result(ws.writeTextMessage(text));
  }

  /** The next message that is not a relay.ping, as JSON; fails the test after 10 s. */
  public JsonObject next() {
    try {
      while (true) {
        String text = inbox.poll(10, TimeUnit.SECONDS);
        if (text == null) {
          throw new AssertionError("no message from the peer within 10 s");
        }
        JsonObject o = new JsonObject(text);
        if (!"relay.ping".equals(o.getString("method"))) {
          return o;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  public boolean isClosed() {
    return closed;
  }

  public void close() {
    Await.result(client.close());
  }
}
