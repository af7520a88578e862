package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.RelayTls;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.util.Locale;

/** Socket options of both ends: mutual TLS, or plain only on loopback unless explicitly allowed. */
final class Transport {

  /** WebSocket frame size; larger messages are sent as several frames. */
  static final int FRAME_BYTES = 64 * 1024;
  /** The HTTP path the DPU end serves. */
  static final String PATH = "/relay";

  private Transport() {}

  /** True for {@code localhost} and loopback IP literals; no name is resolved. */
  static boolean isLoopback(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h.equals("localhost") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")
        || h.matches("127(\\.\\d{1,3}){3}");
  }

  /** Refuses plain transport to or on a non-loopback address unless allowed. */
  static void checkPlain(RelayTls tls, String host, boolean allowPlainRemote, String what) {
    if (tls == null && !allowPlainRemote && !isLoopback(host)) {
      throw new IllegalArgumentException(what + " " + host + " is not a loopback address and no TLS files"
          + " are configured; configure mutual TLS (certificate, key, CA) or use 127.0.0.1 for development");
    }
  }

  static WebSocketClientOptions client(RelayTls tls, int connectTimeoutMs) {
    WebSocketClientOptions o = new WebSocketClientOptions()
        .setMaxFrameSize(FRAME_BYTES)
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

  static HttpServerOptions server(RelayTls tls, String host, int port) {
    HttpServerOptions o = new HttpServerOptions()
        .setHost(host)
        .setPort(port)
        .setMaxWebSocketFrameSize(FRAME_BYTES)
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
