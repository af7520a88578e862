package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.HostLinkEvent;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayConnectionException;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The DPU end: the listening socket, the links of connected hosts, and each host's last seq. */
public final class DpuEndpointImpl implements DpuEndpoint {

  private static final Logger log = LoggerFactory.getLogger(DpuEndpointImpl.class);

  private final Vertx vertx;
  private final Context context;
  private final DpuEndpointOptions options;
  private final long epoch = System.currentTimeMillis();
  private final Map<String, DpuHostLink> links = new ConcurrentHashMap<>();
  private final Map<String, Long> lastSeqs = new ConcurrentHashMap<>();
  private final Map<String, Long> epochs = new ConcurrentHashMap<>();
  private HttpServer server;
  private Handler<ReceivedNotification> notificationHandler = n -> { };
  private Handler<HostLinkEvent> hostHandler = e -> { };

  private DpuEndpointImpl(Vertx vertx, Context context, DpuEndpointOptions options) {
    this.vertx = vertx;
    this.context = context;
    this.options = options;
  }

  /** See {@link DpuEndpoint#listen}. */
  public static Future<DpuEndpoint> listen(Vertx vertx, DpuEndpointOptions options) {
    try {
      Transport.checkPlain(options.tls(), options.bindHost(), options.allowPlainRemote(), "listen address");
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    Context context = vertx.getOrCreateContext();
    DpuEndpointImpl endpoint = new DpuEndpointImpl(vertx, context, options);
    Promise<DpuEndpoint> promise = Promise.promise();
    context.runOnContext(v -> endpoint.start().<DpuEndpoint>map(endpoint).onComplete(promise));
    return promise.future();
  }

  private Future<Void> start() {
    server = vertx.createHttpServer(Transport.server(options.tls(), options.bindHost(), options.port(),
            options.maxMessageBytes()))
        .webSocketHandshakeHandler(this::handshake)
        .webSocketHandler(this::accept)
        .exceptionHandler(e -> log.warn("{}", TlsFailures.acceptFailure(e)));
    if (options.tls() != null) {
      vertx.executeBlocking(() -> TlsFailures.ownCertificateProblem(options.tls()))
          .onSuccess(problem -> {
            if (problem != null) {
              log.error("{}", problem);
            }
          });
    }
    return server.listen().<Void>mapEmpty().recover(e -> Future.failedFuture(new RelayConnectionException(
        "could not listen on " + options.bindHost() + ":" + options.port() + ": " + e.getMessage()
            + "; choose a free port and check the TLS files", e)));
  }

  private void handshake(ServerWebSocketHandshake hs) {
    String remote = hs.remoteAddress() == null ? "" : hs.remoteAddress().hostAddress();
    if (!options.path().equals(hs.path())) {
      log.warn("refused a WebSocket on path {} from {}; the relay is served on {}", hs.path(), remote, options.path());
      hs.reject(404);
    } else if (options.tls() == null && !options.allowPlainRemote() && !Loopback.isLoopback(remote)) {
      log.warn("refused a plain WebSocket from non-loopback {}; configure TLS", remote);
      hs.reject(403);
    } else {
      hs.accept();
    }
  }

  private void accept(ServerWebSocket ws) {
    String name = null;
    if (options.tls() != null) {
      name = certificateName(ws);
      if (name == null) {
        ws.close((short) 1008, "client certificate has no CN");
        return;
      }
    }
    String remote = ws.remoteAddress() == null ? "unknown" : ws.remoteAddress().toString();
    RpcPeer peer = new RpcPeer(vertx, ws, new RpcPeer.Limits(options.maxMessageBytes(), 16,
        options.maxPendingRequests(), options.requestTimeout(), options.heartbeatInterval(),
        options.heartbeatTimeout()), "host at " + remote);
    new DpuHostLink(vertx, this, options, peer, name).start();
  }

  private static String certificateName(ServerWebSocket ws) {
    try {
      Certificate[] chain = ws.sslSession().getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate x)) {
        return null;
      }
      for (Rdn rdn : new LdapName(x.getSubjectX500Principal().getName()).getRdns()) {
        if ("CN".equalsIgnoreCase(rdn.getType())) {
          return rdn.getValue().toString();
        }
      }
      return null;
    } catch (SSLPeerUnverifiedException | InvalidNameException e) {
      log.warn("could not read the client certificate: {}", e.getMessage());
      return null;
    }
  }

  long epoch() {
    return epoch;
  }

  /** Null when the host may start a session, else why not. */
  String admit(String hostId) {
    if (!lastSeqs.containsKey(hostId) && lastSeqs.size() >= options.maxHosts()) {
      String idle = lastSeqs.keySet().stream().filter(h -> !links.containsKey(h)).findFirst().orElse(null);
      if (idle == null) {
        return options.maxHosts() + " hosts are connected, the most this endpoint serves; raise maxHosts";
      }
      lastSeqs.remove(idle);
      epochs.remove(idle);
    }
    lastSeqs.putIfAbsent(hostId, 0L);
    return null;
  }

  void hostUp(DpuHostLink link, long hostEpoch) {
    DpuHostLink previous = links.put(link.hostId(), link);
    if (previous != null && previous != link) {
      previous.close("host " + link.hostId() + " opened a new link; this one is replaced");
    }
    Long lastEpoch = epochs.put(link.hostId(), hostEpoch);
    boolean changed = lastEpoch == null || lastEpoch != hostEpoch;
    log.info("host {} connected (epoch {}{}), resuming after seq {}", link.hostId(), hostEpoch,
        changed ? ", a new one: the DPU should ask state.snapshot" : "", lastSeq(link.hostId()));
    hostHandler.handle(new HostLinkEvent(link.hostId(), true, hostEpoch, changed, null));
  }

  void hostDown(DpuHostLink link, long hostEpoch, Throwable cause) {
    if (links.remove(link.hostId(), link)) {
      log.info("host {} disconnected: {}", link.hostId(), cause == null ? "closed" : cause.getMessage());
      hostHandler.handle(new HostLinkEvent(link.hostId(), false, hostEpoch, false, cause));
    }
  }

  void processed(String hostId, long seq) {
    lastSeqs.put(hostId, seq);
  }

  void deliver(ReceivedNotification n) {
    try {
      notificationHandler.handle(n);
    } catch (RuntimeException e) {
      log.error("notification handler failed on {} seq {} from {}", n.method(), n.seq(), n.hostId(), e);
    }
  }

  @Override
  public int actualPort() {
    return server.actualPort();
  }

  @Override
  public DpuEndpoint notificationHandler(Handler<ReceivedNotification> handler) {
    context.runOnContext(v -> notificationHandler = handler);
    return this;
  }

  @Override
  public DpuEndpoint hostHandler(Handler<HostLinkEvent> handler) {
    context.runOnContext(v -> hostHandler = handler);
    return this;
  }

  @Override
  public Future<Map<String, Object>> request(String hostId, String method, Map<String, Object> params) {
    Promise<Map<String, Object>> promise = Promise.promise();
    context.runOnContext(v -> {
      DpuHostLink link = links.get(hostId);
      if (link == null) {
        promise.fail(new RelayConnectionException("host " + hostId + " is not connected; wait until it"
            + " dials in (hostHandler reports it), then retry with the same opId"));
        return;
      }
      link.peer().request(method, params).map(r -> r.isObject() ? JsonRpcCodec.toMap(r)
          : Map.<String, Object>of("value", JsonRpcCodec.MAPPER.convertValue(r, Object.class))).onComplete(promise);
    });
    return promise.future();
  }

  @Override
  public Set<String> connectedHosts() {
    return Set.copyOf(links.keySet());
  }

  @Override
  public long lastSeq(String hostId) {
    return lastSeqs.getOrDefault(hostId, 0L);
  }

  @Override
  public Future<Void> close() {
    Promise<Void> promise = Promise.promise();
    context.runOnContext(v -> {
      List<DpuHostLink> open = new ArrayList<>(links.values());
      open.forEach(l -> l.close("the DPU endpoint is shutting down"));
      server.close().onComplete(promise);
    });
    return promise.future();
  }
}
