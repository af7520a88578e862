package io.qmpsidecar.sidecar.proxy;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM's QMP proxy: Unix sockets that any QMP client (qmp-shell, the qemu.qmp library, socat,
 * go-qemu) uses as if it were QEMU's own monitor, many clients at once, over the sidecar's single
 * connection to QEMU. Each client gets QEMU's greeting, negotiates on its own, is named as a
 * caller from its credentials or its socket, and has every command decided by the gate before it
 * reaches QEMU; it sees only its own replies (with its own ids) and every event, in QEMU's order
 * and QEMU's bytes. See docs/proxy.md.
 */
public final class QmpProxyServer {
  private static final Logger LOG = LoggerFactory.getLogger(QmpProxyServer.class);
  private static final Path PASSWD = Path.of("/etc/passwd");
  private static final Path GROUP = Path.of("/etc/group");
  /** Callers tracked one by one; beyond this, statistics of new ones are kept together. */
  static final int MAX_CALLERS = 1024;
  private static final String OTHER_CALLERS = "proxy:(others)";
  private static final long ACCOUNTS_RELOAD_NANOS = 1_000_000_000L;

  /** One socket of the proxy: its file and the caller name of its clients (null: by credentials). */
  private record Listener(ProxySocketFile file, String clientName) {}

  private final Vertx vertx;
  private final QmpConnection upstream;
  private final ProxyGate gate;
  private final QmpProxyOptions options;
  private final CallerNames callerNames;
  private final List<Listener> listeners = new ArrayList<>();
  private final List<NetServer> servers = new CopyOnWriteArrayList<>();
  /** Socket files this proxy created: only these are removed on close. */
  private final List<ProxySocketFile> published = new CopyOnWriteArrayList<>();
  private final List<String> offered;
  private final Set<ProxyClientSession> sessions = ConcurrentHashMap.newKeySet();
  private final Map<String, CallerStats> callers = new ConcurrentHashMap<>();
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final List<Consumer<Caller>> dropListeners = new CopyOnWriteArrayList<>();
  private volatile Set<String> commands;
  private volatile boolean commandsSettled;
  private volatile boolean closing;
  private volatile LocalAccounts accounts = LocalAccounts.NONE;
  private volatile long accountsLoaded;
  private QmpSubscription tap;

  private QmpProxyServer(Vertx vertx, QmpConnection upstream, ProxyGate gate, QmpProxyOptions options) {
    this.vertx = vertx;
    this.upstream = upstream;
    this.gate = gate;
    this.options = options;
    this.callerNames = new CallerNames(options.callers());
    this.offered = upstream.oobEnabled() ? List.of("oob") : List.of();
    listeners.add(new Listener(new ProxySocketFile(options.socketPath(),
        options.groupAccess(), null), options.clientName()));
    for (ProxyConsumer c : options.consumers()) {
      listeners.add(new Listener(new ProxySocketFile(options.consumerSocketPath(c),
          c.group() != null, c.group()), c.name()));
    }
  }

  /**
   * Creates the VM's sockets (the main one with mode 0600, or 0660 with
   * {@link QmpProxyOptions#groupAccess()}; one per consumer) and starts serving clients.
   *
   * @param upstream the sidecar's ready connection to QEMU; every client's commands share it
   * @param gate decides each command a client sends, once
   * @return the running proxy; fails with {@link QmpProxyException} when a path exists and is not
   *     a stale socket, another process listens on it, or it cannot be created or secured, and
   *     with {@link IllegalStateException} when {@code upstream} is not ready
   */
  public static Future<QmpProxyServer> start(Vertx vertx, QmpConnection upstream, ProxyGate gate,
      QmpProxyOptions options) {
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(gate, "gate");
    Objects.requireNonNull(options, "options");
    if (upstream.state() != QmpState.READY || upstream.greeting() == null) {
      return Future.failedFuture(new IllegalStateException("QMP proxy for "
          + options.socketPath() + " needs a ready QMP connection (it is "
          + upstream.state().name().toLowerCase() + "): connect to QEMU first"));
    }
    QmpProxyServer proxy = new QmpProxyServer(vertx, upstream, gate, options);
    return proxy.loadAccounts().compose(v -> proxy.listen()).onSuccess(QmpProxyServer::loadCommands);
  }

  private Future<Void> loadAccounts() {
    accountsLoaded = System.nanoTime();
    return vertx.executeBlocking(() -> LocalAccounts.load(PASSWD, GROUP))
        .onSuccess(a -> accounts = a)
        .onFailure(e -> LOG.warn("QMP proxy {}: cannot read the host's accounts ({}): clients are"
            + " named by uid", options.socketPath(), e.getMessage()))
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }

  /**
   * Reads the commands QEMU has, so that an unknown one gets QEMU's answer without a decision.
   * The first reading runs once the sockets are open, off the path to ready (QEMU's schema is
   * 207-248 KB); clients are greeted meanwhile, and their commands are read once it has settled.
   */
  private void loadCommands() {
    upstream.schema()
        .onSuccess(schema -> commands = schema.commands().isEmpty() ? null : Set.copyOf(schema.commands()))
        .onFailure(e -> {
          if (!closing) {
            LOG.warn("QMP proxy {}: cannot read QEMU's schema ({}): unknown commands go to the"
                + " policy until the connection to QEMU is re-established", options.socketPath(),
                e.getMessage());
          }
        })
        .onComplete(ar -> {
          if (!commandsSettled) {
            commandsSettled = true;
            sessions.forEach(ProxyClientSession::commandsSettled);
          }
        });
  }

  /** Whether the first reading of QEMU's commands has succeeded or failed. */
  boolean commandsSettled() {
    return commandsSettled;
  }

  private Future<QmpProxyServer> listen() {
    if (!vertx.isNativeTransportEnabled()) {
      LOG.warn("QMP proxy {}: Vert.x runs on the JDK's transport, whose Unix sockets close when a"
          + " client shuts down its sending side: such a client loses the replies still due. The"
          + " sidecar uses Netty's epoll transport (netty-transport-native-epoll) to avoid this",
          options.socketPath());
    }
    // The predicate runs as QEMU's line is read, before any reply that follows it is handed
    // over: events keep their place among replies for every client.
    tap = upstream.subscribe(new EventFilter(Set.of(), this::tap), 1, new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent event) {
        // Never called: the tap's predicate keeps every event out of this subscription's queue.
      }

      @Override
      public void onGap(EventGap gap) {
        if (gap == EventGap.RECONNECTED) {
          LOG.warn("QMP proxy {}: the connection to QEMU was re-established; clients may have"
              + " missed events", options.socketPath());
          loadCommands();
        }
      }
    });
    Future<Void> all = Future.succeededFuture();
    for (Listener l : listeners) {
      all = all.compose(v -> listen(l));
    }
    return all.map(v -> {
      LOG.info("QMP proxy listening on {} (mode {}){}, at most {} clients", options.socketPath(),
          options.groupAccess() ? "0660" : "0600", options.consumers().isEmpty() ? ""
              : " and " + options.consumers().size() + " consumer socket(s)", options.maxClients());
      return this;
    }).recover(e -> close().transform(ignored -> Future.failedFuture(e)));
  }

  private Future<Void> listen(Listener l) {
    ProxySocketFile file = l.file();
    return vertx.executeBlocking(file::prepare).compose(tmp -> {
      NetServer s = vertx.createNetServer();
      s.connectHandler(socket -> accept(socket, l));
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
            servers.add(s);
            published.add(file);
            return null;
          });
    });
  }

  /** The VM's main socket. */
  public Path socketPath() {
    return options.socketPath();
  }

  /** A snapshot of every connected client. */
  public List<ProxyClientStats> clients() {
    List<ProxyClientStats> all = new ArrayList<>();
    sessions.forEach(s -> all.add(s.stats()));
    return all;
  }

  /** Every caller seen since the proxy started, with its counters over all its connections. */
  public List<ProxyCallerStats> callers() {
    List<ProxyCallerStats> all = new ArrayList<>();
    callers.forEach((caller, stats) -> all.add(stats.snapshot(caller)));
    all.sort(java.util.Comparator.comparing(ProxyCallerStats::caller));
    return all;
  }

  /** Clients turned away because {@link QmpProxyOptions#maxClients()} were connected. */
  public long rejectedClients() {
    return rejected.get();
  }

  /** Events dropped for clients that did not read them, since the proxy started. */
  public long eventsDropped() {
    return dropped.get();
  }

  /**
   * Calls {@code listener} with the caller each time an event is dropped for one of its clients,
   * as it happens (e.g. to count it in a metric). It runs on the QMP connection's event loop: it
   * must not block.
   */
  public void onEventDropped(Consumer<Caller> listener) {
    dropListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Stops accepting, disconnects every client (one that has not taken what is queued for it
   * within {@link ProxyClientSession#CLOSE_GRACE_MS} is cut off) and removes the socket files.
   */
  public Future<Void> close() {
    closing = true;
    QmpSubscription t = tap;
    if (t != null) {
      t.cancel();
    }
    // The clients and the listeners together; a client that does not take what is queued for it
    // is cut off after its grace period, or it would hold the close forever.
    List<Future<Void>> stopping = new ArrayList<>();
    sessions.forEach(session -> stopping.add(session.close()));
    servers.forEach(s -> stopping.add(s.close()));
    return Future.join(stopping).transform(ignored -> vertx.executeBlocking(() -> {
      published.forEach(file -> file.delete(file.path()));
      return null;
    }));
  }

  QmpProxyOptions options() {
    return options;
  }

  QmpConnection upstream() {
    return upstream;
  }

  ProxyGate gate() {
    return gate;
  }

  List<String> offeredCapabilities() {
    return offered;
  }

  boolean knowsCommand(String name) {
    Set<String> known = commands;
    return known == null || known.contains(name);
  }

  CallerStats statsOf(Caller caller) {
    CallerStats stats = callers.get(caller.id());
    if (stats != null) {
      return stats;
    }
    String key = callers.size() < MAX_CALLERS ? caller.id() : OTHER_CALLERS;
    return callers.computeIfAbsent(key, k -> new CallerStats());
  }

  void eventDropped(ProxyClientSession session) {
    dropped.incrementAndGet();
    CallerStats stats = statsOf(session.caller());
    stats.eventsDropped.incrementAndGet();
    stats.lastDrop = Instant.now();
    for (Consumer<Caller> l : dropListeners) {
      try {
        l.accept(session.caller());
      } catch (RuntimeException e) {
        LOG.warn("QMP proxy {}: an event-drop listener failed", options.socketPath(), e);
      }
    }
  }

  void gone(ProxyClientSession session) {
    if (sessions.remove(session)) {
      active.decrementAndGet();
      statsOf(session.caller()).connected.decrementAndGet();
      LOG.info("QMP proxy {}: {} disconnected", options.socketPath(), session.caller());
    }
  }

  /** Hands each event, as QEMU's line, to every negotiated client; keeps it out of the queue. */
  private boolean tap(QmpEvent event) {
    if (!sessions.isEmpty()) {
      byte[] line = ProxyWire.event(event).getBytes();
      for (ProxyClientSession s : sessions) {
        s.offerEvent(line);
      }
    }
    return false;
  }

  private void accept(NetSocket socket, Listener listener) {
    if (active.incrementAndGet() > options.maxClients()) {
      active.decrementAndGet();
      rejected.incrementAndGet();
      LOG.warn("QMP proxy {}: refused a client: {} are connected, the limit",
          listener.file().path(), options.maxClients());
      socket.write(ProxyWire.error(QmpError.generic("qmp-sidecar proxy: too many clients ("
          + options.maxClients() + " connected, the limit): close another client or raise the"
          + " proxy's maxClients"), null)).onComplete(ar -> socket.close());
      return;
    }
    ProxyChannel channel = new ProxyChannel(socket);
    // Nothing is read until the client is named and its session is in place.
    channel.reading(false);
    PeerIdentity peer = credentials(channel, listener);
    PeerIdentity known = peer == null ? null : peer.withAccounts(accounts);
    if (listener.clientName() == null && known != null && known.incomplete()
        && System.nanoTime() - accountsLoaded > ACCOUNTS_RELOAD_NANOS) {
      // A user or group added since the accounts were read: read them again, off the loop.
      loadAccounts().onComplete(ar -> open(socket, channel, listener, peer.withAccounts(accounts)));
    } else {
      open(socket, channel, listener, known);
    }
  }

  private static PeerIdentity credentials(ProxyChannel channel, Listener listener) {
    try {
      return channel.peer();
    } catch (IOException e) {
      LOG.warn("QMP proxy {}: cannot read the peer's credentials: {}", listener.file().path(),
          e.getMessage());
      return null;
    }
  }

  private void open(NetSocket socket, ProxyChannel channel, Listener listener, PeerIdentity peer) {
    Caller caller = listener.clientName() != null ? Caller.proxy(listener.clientName())
        : peer != null ? callerNames.name(peer) : Caller.proxy("unknown");
    CallerStats stats = statsOf(caller);
    stats.connected.incrementAndGet();
    stats.connections.incrementAndGet();
    ProxyClientSession session = new ProxyClientSession(socket, channel, this, caller, peer,
        listener.file().path().toString());
    sessions.add(session);
    LOG.info("QMP proxy {}: client connected as {} ({})", listener.file().path(), caller,
        peer == null ? "credentials unknown" : peer);
    session.start();
  }
}
