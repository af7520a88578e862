package io.qmpsidecar.sidecar.proxy;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP-compatible Unix socket for one VM: any QMP client (qmp-shell, the qemu.qmp library,
 * socat, go-qemu) connects to it as if it were QEMU, many at once, over the sidecar's single
 * connection to QEMU. Each client gets QEMU's greeting, negotiates on its own, and has every
 * command decided by the policy engine as caller {@code proxy:<name>} before it reaches QEMU; it
 * sees only its own replies (with its own ids) and every event. See docs/proxy.md.
 */
public final class QmpProxyServer {
  private static final Logger LOG = LoggerFactory.getLogger(QmpProxyServer.class);

  private final Vertx vertx;
  private final QmpConnection upstream;
  private final PolicyEngine policy;
  private final QmpProxyOptions options;
  private final ProxySocketFile file;
  private final Set<ProxyClientSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong droppedByGone = new AtomicLong();
  private volatile NetServer server;

  private QmpProxyServer(Vertx vertx, QmpConnection upstream, PolicyEngine policy,
      QmpProxyOptions options) {
    this.vertx = vertx;
    this.upstream = upstream;
    this.policy = policy;
    this.options = options;
    this.file = new ProxySocketFile(options.socketPath(), options.groupAccess());
  }

  /**
   * Creates the socket (mode 0600, or 0660 with {@link QmpProxyOptions#groupAccess()}) and
   * starts serving clients.
   *
   * @param upstream the sidecar's ready connection to QEMU; every client's commands share it
   * @return the running proxy; fails with {@link QmpProxyException} when the path exists and is
   *     not a stale socket, another process listens on it, or it cannot be created or secured,
   *     and with {@link IllegalStateException} when {@code upstream} is not ready
   */
  public static Future<QmpProxyServer> start(Vertx vertx, QmpConnection upstream,
      PolicyEngine policy, QmpProxyOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(options, "options");
    if (upstream.state() != QmpState.READY || upstream.greeting() == null) {
      return Future.failedFuture(new IllegalStateException("QMP proxy for "
          + options.socketPath() + " needs a ready QMP connection (it is "
          + upstream.state().name().toLowerCase() + "): connect to QEMU first"));
    }
    return new QmpProxyServer(vertx, upstream, policy, options).listen();
  }

  private Future<QmpProxyServer> listen() {
    return vertx.executeBlocking(file::prepare).compose(tmp -> {
      NetServer s = vertx.createNetServer();
      s.connectHandler(this::accept);
      return s.listen(SocketAddress.domainSocketAddress(tmp.toString()))
          .recover(e -> Future.failedFuture(new QmpProxyException(file.path().toString(),
              "QMP proxy cannot listen on " + tmp + ": " + e.getMessage()
                  + "; check that the directory is writable", e)))
          .compose(listening -> vertx.<Void>executeBlocking(() -> {
            file.publish(tmp);
            return null;
          }).recover(e -> {
            file.delete(tmp);
            return s.close().transform(ignored -> Future.failedFuture(e));
          }))
          .map(v -> {
            server = s;
            LOG.info("QMP proxy listening on {} (mode {}), at most {} clients", file.path(),
                options.groupAccess() ? "0660" : "0600", options.maxClients());
            return this;
          });
    });
  }

  /** The socket clients connect to. */
  public Path socketPath() {
    return file.path();
  }

  /** A snapshot of every connected client. */
  public List<ProxyClientStats> clients() {
    List<ProxyClientStats> all = new ArrayList<>();
    sessions.forEach(s -> all.add(s.stats()));
    return all;
  }

  /** Clients turned away because {@link QmpProxyOptions#maxClients()} were connected. */
  public long rejectedClients() {
    return rejected.get();
  }

  /** Events dropped for slow clients since the proxy started, disconnected ones included. */
  public long eventsDropped() {
    long sum = droppedByGone.get();
    for (ProxyClientSession s : sessions) {
      sum += s.eventsDropped();
    }
    return sum;
  }

  /** Stops accepting, disconnects every client and removes the socket file. */
  public Future<Void> close() {
    NetServer s = server;
    Future<Void> stopped = s == null ? Future.succeededFuture() : s.close();
    return stopped.compose(v -> {
      List<Future<Void>> closing = new ArrayList<>();
      sessions.forEach(session -> closing.add(session.close()));
      return Future.join(closing).transform(ignored -> Future.<Void>succeededFuture());
    }).compose(v -> vertx.executeBlocking(() -> {
      file.delete(file.path());
      return null;
    }));
  }

  private void accept(NetSocket socket) {
    if (active.incrementAndGet() > options.maxClients()) {
      active.decrementAndGet();
      rejected.incrementAndGet();
      LOG.warn("QMP proxy {}: refused a client: {} are connected, the limit", file.path(),
          options.maxClients());
      socket.write(ProxyWire.error(QmpError.generic("qmp-sidecar proxy: too many clients ("
          + options.maxClients() + " connected, the limit): close another client or raise the"
          + " proxy's maxClients"), null)).onComplete(ar -> socket.close());
      return;
    }
    int index = connections.incrementAndGet();
    Caller caller = Caller.proxy(options.clientName() != null ? options.clientName()
        : "client-" + index);
    ProxyClientSession session = new ProxyClientSession(socket, upstream, policy, caller, options,
        this::gone);
    sessions.add(session);
    LOG.info("QMP proxy {}: client connected as {}", file.path(), caller);
    session.start();
  }

  private void gone(ProxyClientSession session) {
    if (sessions.remove(session)) {
      active.decrementAndGet();
      droppedByGone.addAndGet(session.eventsDropped());
      LOG.info("QMP proxy {}: {} disconnected", file.path(), session.caller());
    }
  }
}
