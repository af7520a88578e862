package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.RelayTls;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

/**
 * Socket options of both ends: mutual TLS, or plain only on loopback unless explicitly allowed.
 *
 * <p>Frames: each end sends a message as one WebSocket frame and accepts single frames of up to
 * {@link #FRAME_LIMIT_FACTOR} times its message limit, so that a message somewhat over the limit
 * is read, counted and answered with MESSAGE_TOO_LARGE instead of dropping the link. A frame
 * beyond that cannot be skipped without holding it whole in memory: the WebSocket layer closes the
 * link (status 1009). Fragmented messages of any total size are counted and dropped frame by frame.
 */
final class Transport {

  /** A single frame of up to this many times maxMessageBytes is read (then dropped if too large). */
  static final int FRAME_LIMIT_FACTOR = 4;

  private Transport() {}

  /** The largest single frame accepted for a message limit. */
  static int frameLimit(int maxMessageBytes) {
    return (int) Math.min(Integer.MAX_VALUE, (long) FRAME_LIMIT_FACTOR * maxMessageBytes);
  }

  /** Refuses plain transport to or on a non-loopback address unless allowed. */
  static void checkPlain(RelayTls tls, String host, boolean allowPlainRemote, String what) {
    if (tls == null && !allowPlainRemote && !Loopback.isLoopback(host)) {
      throw new IllegalArgumentException(what + " " + host + " is not a loopback address and no TLS files"
          + " are configured; configure mutual TLS (certificate, key, CA) or use 127.0.0.1 for development");
    }
  }

  static WebSocketClientOptions client(RelayTls tls, int connectTimeoutMs, int maxMessageBytes) {
    WebSocketClientOptions o = new WebSocketClientOptions()
        .setMaxFrameSize(frameLimit(maxMessageBytes))
        .setMaxMessageSize(frameLimit(maxMessageBytes))
        .setConnectTimeout(connectTimeoutMs)
        .setClosingTimeout(1)
        .setTcpNoDelay(true);
    if (tls != null) {
      o.setSsl(true)
          .setVerifyHost(true)
          .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certificate().toString())
              .setKeyPath(tls.privateKey().toString()))
          .setTrustOptions(new PemTrustOptions().addCertPath(tls.trustedCa().toString()));
    }
    return o;
  }

  static HttpServerOptions server(RelayTls tls, String host, int port, int maxMessageBytes) {
    HttpServerOptions o = new HttpServerOptions()
        .setHost(host)
        .setPort(port)
        .setMaxWebSocketFrameSize(frameLimit(maxMessageBytes))
        .setMaxWebSocketMessageSize(frameLimit(maxMessageBytes))
        .setWebSocketClosingTimeout(1)
        .setTcpNoDelay(true);
    if (tls != null) {
      o.setSsl(true)
          .setClientAuth(ClientAuth.REQUIRED)
          .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certificate().toString())
              .setKeyPath(tls.privateKey().toString()))
          .setTrustOptions(new PemTrustOptions().addCertPath(tls.trustedCa().toString()));
    }
    return o;
  }
}
