package io.qmpsidecar.relay.conformance;

import io.qmpsidecar.relay.RelayTls;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.net.URI;

/** A host end made of nothing but a WebSocket client: it dials a DPU end under test. */
public final class WireHost implements AutoCloseable {

  private final WebSocketClient client;

  public WireHost(Vertx vertx) {
    client = vertx.createWebSocketClient(options());
  }

  /**
   * A host end that dials with TLS, presenting {@code tls}'s certificate and trusting its CA. It
   * does not check the DPU's name: it is here to see what the DPU end does with a client.
   */
  public WireHost(Vertx vertx, RelayTls tls) {
    client = vertx.createWebSocketClient(options().setSsl(true).setVerifyHost(false)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certificate().toString())
            .setKeyPath(tls.privateKey().toString()))
        .setTrustOptions(new PemTrustOptions().addCertPath(tls.trustedCa().toString())));
  }

  private static WebSocketClientOptions options() {
    return new WebSocketClientOptions().setMaxFrameSize(WireDpu.MAX_FRAME).setMaxMessageSize(WireDpu.MAX_FRAME)
        .setClosingTimeout(1);
  }

  /** Opens a link to {@code url} ({@code ws://host:port/path}, or {@code wss://} with TLS). */
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
