package io.qmpsidecar.relay.conformance;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.net.URI;

/** A host end made of nothing but a WebSocket client: it dials a DPU end under test. */
public final class WireHost implements AutoCloseable {

  private final WebSocketClient client;

  public WireHost(Vertx vertx) {
    client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxFrameSize(WireDpu.MAX_FRAME)
        .setMaxMessageSize(WireDpu.MAX_FRAME).setClosingTimeout(1));
  }

  /** Opens a link to {@code url} ({@code ws://host:port/path}). */
  public WireLink connect(URI url) {
    return new WireLink(Wire.await(client.connect(new WebSocketConnectOptions().setHost(url.getHost())
        .setPort(url.getPort()).setURI(url.getRawPath()))));
  }

  /** The HTTP status with which the DPU end refused to open a WebSocket on {@code url}. */
  public Throwable refusal(URI url) {
    try {
      connect(url);
    } catch (AssertionError e) {
      return e.getCause() != null ? e.getCause() : e;
    }
    throw new AssertionError("the DPU end opened a WebSocket on " + url);
  }

  @Override
  public void close() {
    Wire.await(client.close());
  }
}
