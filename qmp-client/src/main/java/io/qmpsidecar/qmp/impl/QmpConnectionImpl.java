package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpClosedException;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandObserver;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpException;
import io.qmpsidecar.qmp.QmpFdPassingException;
import io.qmpsidecar.qmp.QmpGreeting;
import io.qmpsidecar.qmp.QmpPeer;
import io.qmpsidecar.qmp.QmpProtocolException;
import io.qmpsidecar.qmp.QmpSchema;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpSubscription;
import io.qmpsidecar.qmp.UnixFd;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.qmp.impl.codec.QmpCommandEncoder;
import io.qmpsidecar.qmp.impl.codec.QmpMessage;
import io.qmpsidecar.qmp.impl.codec.QmpMessageDecoder;
import io.qmpsidecar.qmp.impl.unix.Posix;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP connection's lifecycle: connect, greeting, negotiation, reconnect. Every field is
 * confined to {@link #context}; public methods hop onto it.
 */
final class QmpConnectionImpl implements QmpConnection, QmpSession.Handler {
  private static final Logger LOG = LoggerFactory.getLogger(QmpConnectionImpl.class);
  private static final String DEVICE_DELETED = "DEVICE_DELETED";
  private static final String PERIPHERAL = "/machine/peripheral/";

  private final Vertx vertx;
  private final Context context;
  private final NetClient net;
  private final QmpClientOptions options;
  private final String peer;
  private final QmpMessageDecoder decoder;
  private final CommandPipeline pipeline;
  private final EventDispatcher events;
  private final List<Consumer<QmpState>> stateListeners = new ArrayList<>();
  private final Promise<Void> closed = Promise.promise();

  private volatile QmpState state = QmpState.CONNECTING;
  /** The last state the listeners were told; none before the first attempt, so they hear its CONNECTING. */
  private QmpState reported;
  private volatile QmpGreeting greeting;
  private volatile boolean oob;
  private QmpSession session;
  private Promise<QmpConnection> opening;
  private Future<QmpSchema> schema;
  private long greetingTimer = -1;
  private long reconnectTimer = -1;
  private int attempt;
  private boolean everReady;
  private boolean closing;

  QmpConnectionImpl(Vertx vertx, Context context, NetClient net, QmpClientOptions options, ObjectMapper mapper) {
    this.vertx = vertx;
    this.context = context;
    this.net = net;
    this.options = options;
    this.peer = options.address().toString();
    this.decoder = new QmpMessageDecoder(mapper);
    this.pipeline = new CommandPipeline(vertx, new QmpCommandEncoder(mapper), options.maxInFlight(),
        options.maxQueuedCommands(), peer);
    this.events = new EventDispatcher(context);
  }

  /** Starts the first connection attempt; must run on the context. */
  Future<QmpConnection> open() {
    opening = Promise.promise();
    connectOnce();
    return opening.future();
  }

  Future<Void> closeFuture() {
    return closed.future();
  }

  @Override
  public QmpState state() {
    return state;
  }

  @Override
  public void onStateChange(Consumer<QmpState> listener) {
    onContext(() -> stateListeners.add(listener));
  }

  @Override
  public QmpGreeting greeting() {
    return greeting;
  }

  @Override
  public Optional<QmpPeer> peer() {
    QmpSession s = session;
    return s == null ? Optional.empty() : s.peer();
  }

  @Override
  public boolean oobEnabled() {
    return oob;
  }

  @Override
  public <T> Future<T> execute(QmpCommand<T> command) {
    return execute(command, options.commandTimeout());
  }

  @Override
  public <T> Future<T> execute(QmpCommand<T> command, Duration timeout) {
    return submit(command, false, timeout);
  }

  @Override
  public <T> Future<T> executeOob(QmpCommand<T> command) {
    return submit(command, true, options.commandTimeout());
  }

  @Override
  public <T> Future<T> executeWithFds(QmpCommand<T> command, List<UnixFd> fds) {
    if (fds.isEmpty() || fds.size() > Posix.MAX_FDS_PER_MESSAGE) {
      throw new IllegalArgumentException("'" + command.name() + "' can carry 1-" + Posix.MAX_FDS_PER_MESSAGE
          + " file descriptors (QEMU's limit per message), got " + fds.size());
    }
    for (UnixFd fd : fds) {
      if (!fd.isOpen()) {
        throw new IllegalArgumentException("'" + command.name() + "' cannot pass " + fd);
      }
    }
    String unsupported = Posix.unsupportedReason();
    QmpFdPassingException unpassable = !options.address().isUnix()
        ? new QmpFdPassingException("'" + command.name() + "' was not sent: QEMU at " + peer + " is reached over"
            + " TCP, which cannot carry file descriptors; connect to its QMP monitor on a Unix socket"
            + " (-qmp unix:PATH,server=on)")
        : unsupported != null ? new QmpFdPassingException("'" + command.name() + "' was not sent: " + unsupported)
        : null;
    return submit(command, false, fds, options.commandTimeout(), unpassable);
  }

  @Override
  public Future<UnplugOutcome> deviceDel(String idOrPath, Duration wait) {
    return deviceDel(idOrPath, wait, null);
  }

  @Override
  public QmpConnection observedBy(QmpCommandObserver observer) {
    return new ObservedConnection(this, observer);
  }

  Future<UnplugOutcome> deviceDel(String idOrPath, Duration wait, QmpCommandObserver observer) {
    Promise<UnplugOutcome> result = Promise.promise();
    onContext(() -> {
      boolean isPath = idOrPath.startsWith("/");
      String path = isPath ? idOrPath : PERIPHERAL + idOrPath;
      String id = isPath ? null : idOrPath;
      long[] timer = {-1};
      // Watch before asking: a powered-off slot unplugs at once, before the reply arrives.
      EventDispatcher.Watcher watcher = events.watch(
          e -> DEVICE_DELETED.equals(e.name()) && matches(e, id, path),
          () -> {
            vertx.cancelTimer(timer[0]);
            result.tryComplete(UnplugOutcome.DELETED);
          },
          () -> result.tryFail(new QmpClosedException("connection to QEMU at " + peer
              + " closed while waiting for DEVICE_DELETED of " + idOrPath
              + "; after reconnecting, check /machine/peripheral with qom-list")));
      execute(QmpCommands.deviceDel(idOrPath).observedBy(observer)).onComplete(ar -> {
        if (ar.failed()) {
          events.unwatch(watcher);
          result.tryFail(ar.cause());
        } else if (!result.future().isComplete()) {
          timer[0] = vertx.setTimer(Timers.delayMs(wait), t -> {
            events.unwatch(watcher);
            result.tryComplete(UnplugOutcome.PENDING);
          });
        }
      });
    });
    return result.future();
  }

  private static boolean matches(QmpEvent e, String id, String path) {
    // Child objects (e.g. …/nic0/virtio-backend) report only a path: match it exactly.
    return (id != null && id.equals(e.text("device"))) || path.equals(e.text("path"));
  }

  @Override
  public Future<QmpSchema> schema() {
    Promise<QmpSchema> result = Promise.promise();
    onContext(() -> {
      if (schema == null) {
        Future<QmpSchema> fetch = execute(QmpCommand.raw("query-qmp-schema", null)).map(QmpSchema::parse);
        schema = fetch;
        fetch.onFailure(e -> {
          if (schema == fetch) {
            schema = null;
          }
        });
      }
      schema.onComplete(result);
    });
    return result.future();
  }

  @Override
  public QmpSubscription subscribe(EventFilter filter, QmpEventListener listener) {
    return subscribe(filter, options.eventQueueCapacity(), listener);
  }

  @Override
  public QmpSubscription subscribe(EventFilter filter, int queueCapacity, QmpEventListener listener) {
    if (queueCapacity < 1) {
      throw new IllegalArgumentException("queueCapacity must be >= 1, got " + queueCapacity);
    }
    return events.subscribe(filter, queueCapacity, listener);
  }

  @Override
  public int inFlight() {
    return pipeline.inFlight();
  }

  @Override
  public int queued() {
    return pipeline.queued();
  }

  @Override
  public Future<Void> close() {
    onContext(() -> {
      if (state == QmpState.CLOSED) {
        closed.tryComplete();
        return;
      }
      closing = true;
      vertx.cancelTimer(reconnectTimer);
      if (session != null) {
        session.abort(null);
      } else {
        finish(new QmpClosedException("connection to QEMU at " + peer + " closed by the client"));
      }
    });
    return closed.future();
  }

  @Override
  public void onMessage(QmpSession from, QmpMessage message) {
    if (from != session) {
      return;
    }
    if (message instanceof QmpMessage.Event e) {
      events.dispatch(e.event());
    } else if (message instanceof QmpMessage.Greeting g) {
      negotiate(from, g.greeting());
    } else {
      pipeline.onReply(message);
    }
  }

  @Override
  public void onEnd(QmpSession from, Throwable reason) {
    if (from != session) {
      return;
    }
    session = null;
    vertx.cancelTimer(greetingTimer);
    schema = null;
    events.sessionLost();
    if (closing) {
      finish(new QmpClosedException("connection to QEMU at " + peer + " closed by the client"));
      return;
    }
    String why = reason == null ? "QEMU closed the socket" : reason.getMessage();
    pipeline.failAll(reason instanceof QmpProtocolException
        ? reason
        : new QmpClosedException("connection to QEMU at " + peer + " lost: " + why
            + "; QEMU may have exited. The command may or may not have run: re-query before retrying"),
        new QmpClosedException("connection to QEMU at " + peer + " lost before the command was sent: " + why
            + "; it did not run", reason));
    if (opening != null) {
      failOpening(reason instanceof QmpConnectionException e ? e
          : reason == null ? new QmpConnectionException("QEMU at " + peer + " closed the connection during greeting"
              + " and negotiation; check that the socket is QEMU's QMP monitor (-qmp ...,server=on)")
          : new QmpConnectionException("greeting and negotiation with QEMU at " + peer + " failed: " + why, reason));
    } else {
      LOG.warn("QMP {}: connection lost: {}", peer, why);
      setState(QmpState.DISCONNECTED);
      scheduleReconnect();
    }
  }

  private <T> Future<T> submit(QmpCommand<T> command, boolean oobCommand, Duration timeout) {
    return submit(command, oobCommand, List.of(), timeout, null);
  }

  /** @param refused why the command cannot be sent at all, or null: it fails, reported as never sent */
  private <T> Future<T> submit(QmpCommand<T> command, boolean oobCommand, List<UnixFd> fds, Duration timeout,
      QmpException refused) {
    Promise<T> promise = Promise.promise();
    onContext(() -> {
      PendingCommand<T> pending = new PendingCommand<>(command, oobCommand, fds, promise);
      if (refused != null) {
        pending.fail(refused);
      } else if (state != QmpState.READY) {
        pending.fail(new QmpConnectionException("QMP connection to " + peer + " is "
            + state.name().toLowerCase() + ": '" + command.name() + "' was not sent"
            + (options.reconnect().enabled() && state != QmpState.CLOSED ? "; it reconnects by itself, retry shortly" : "")));
      } else if (oobCommand && !oob) {
        pending.fail(new QmpConnectionException("'" + command.name() + "' needs exec-oob, but oob is not"
            + " negotiated with QEMU at " + peer + " (QEMU did not offer it, or enableOob is false)"));
      } else {
        pipeline.submit(pending, timeout);
      }
    });
    return promise.future();
  }

  private void connectOnce() {
    setState(QmpState.CONNECTING);
    SocketAddress address = options.address().isUnix()
        ? SocketAddress.domainSocketAddress(options.address().unixPath().toString())
        : SocketAddress.inetSocketAddress(options.address().port(), options.address().host());
    net.connect(address).onComplete(ar -> onContext(() -> {
      if (closing) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        finish(new QmpClosedException("connection to QEMU at " + peer + " closed by the client"));
      } else if (ar.failed()) {
        connectFailed(ar.cause());
      } else {
        startSession(ar.result());
      }
    }));
  }

  private void startSession(NetSocket socket) {
    setState(QmpState.NEGOTIATING);
    QmpSession s = new QmpSession(socket, decoder, options.maxLineBytes(), this);
    session = s;
    pipeline.attach(s.writer(), s.fdWriter(peer));
    greetingTimer = vertx.setTimer(Timers.delayMs(options.greetingTimeout()), t -> s.abort(greetingTimedOut(s)));
  }

  /**
   * Without a greeting, the likeliest cause is a monitor already in use: QEMU serves one client
   * per {@code -qmp} socket and leaves the next one connected but unanswered until the first
   * leaves. A greeting with no answer to {@code qmp_capabilities} is a QEMU that stopped.
   */
  private QmpConnectionException greetingTimedOut(QmpSession s) {
    long ms = options.greetingTimeout().toMillis();
    if (s.greeted()) {
      return new QmpConnectionException("QEMU at " + peer + " greeted but did not answer qmp_capabilities within "
          + ms + " ms: it may be stopped (SIGSTOP) or hung");
    }
    return new QmpConnectionException("QEMU at " + peer + " sent no greeting within " + ms + " ms: another client"
        + " may hold the monitor (QEMU serves one client per -qmp socket and leaves the next one waiting): stop"
        + " that client or connect through the sidecar's proxy socket; else QEMU is stopped (SIGSTOP) or hung, or"
        + " this socket is not a QMP monitor");
  }

  private void negotiate(QmpSession s, QmpGreeting offered) {
    boolean wantOob = options.enableOob() && offered.offers("oob");
    ObjectNode args = null;
    if (wantOob) {
      args = JsonNodeFactory.instance.objectNode();
      args.putArray("enable").add("oob");
    }
    Promise<Void> negotiated = Promise.promise();
    pipeline.submit(new PendingCommand<>(new QmpCommand<Void>("qmp_capabilities", args, r -> null), false,
        negotiated), options.greetingTimeout());
    negotiated.future().onComplete(ar -> {
      if (s != session) {
        return;
      }
      if (ar.failed()) {
        s.abort(new QmpConnectionException("QEMU at " + peer + " refused qmp_capabilities: "
            + ar.cause().getMessage()));
      } else {
        ready(offered, wantOob);
      }
    });
  }

  private void ready(QmpGreeting offered, boolean withOob) {
    vertx.cancelTimer(greetingTimer);
    greeting = offered;
    oob = withOob;
    attempt = 0;
    boolean reconnected = everReady;
    everReady = true;
    setState(QmpState.READY);
    LOG.info("QMP {}: ready, QEMU {} ({}), oob {}", peer, offered.version(), offered.version().pkg(),
        withOob ? "on" : "off");
    if (opening != null) {
      Promise<QmpConnection> p = opening;
      opening = null;
      p.complete(this);
    }
    if (reconnected) {
      events.reconnected();
    }
  }

  private void connectFailed(Throwable cause) {
    // Some transports fail a Unix connect with no message: name the exception instead.
    String why = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    if (options.address().isUnix() && why.contains("Permission denied")) {
      // The socket is there and QEMU may well listen: who may connect is the problem, not -qmp.
      vertx.executeBlocking(() -> SocketAccess.denied(options.address().unixPath()), false)
          .onComplete(ar -> onContext(() -> {
            if (closing) {
              finish(new QmpClosedException("connection to QEMU at " + peer + " closed by the client"));
            } else {
              connectFailed(new QmpConnectionException(ar.succeeded() ? ar.result()
                  : "permission denied: " + peer + "; run as a user that can read and write it", cause), why);
            }
          }));
      return;
    }
    connectFailed(new QmpConnectionException("cannot connect to QEMU's QMP socket at "
        + peer + ": " + why + "; check that QEMU runs with -qmp " + peer + ",server=on", cause), why);
  }

  private void connectFailed(QmpConnectionException e, String why) {
    if (opening != null) {
      failOpening(e);
    } else {
      LOG.warn("QMP {}: reconnect attempt {} failed: {}", peer, attempt, why);
      setState(QmpState.DISCONNECTED);
      scheduleReconnect();
    }
  }

  private void failOpening(QmpConnectionException e) {
    Promise<QmpConnection> p = opening;
    opening = null;
    finish(e);
    p.fail(e);
  }

  private void scheduleReconnect() {
    var policy = options.reconnect();
    if (!policy.enabled()) {
      finish(new QmpClosedException("connection to QEMU at " + peer + " is closed (reconnect is off)"));
      return;
    }
    attempt++;
    if (policy.maxAttempts() > 0 && attempt > policy.maxAttempts()) {
      LOG.error("QMP {}: giving up after {} reconnect attempts", peer, policy.maxAttempts());
      finish(new QmpClosedException("connection to QEMU at " + peer + " gave up after "
          + policy.maxAttempts() + " reconnect attempts"));
      return;
    }
    long delay = Timers.delayMs(policy.delay(attempt, ThreadLocalRandom.current().nextDouble()));
    LOG.info("QMP {}: reconnecting in {} ms (attempt {})", peer, delay, attempt);
    reconnectTimer = vertx.setTimer(delay, t -> connectOnce());
  }

  private void finish(Throwable cause) {
    pipeline.failAll(cause, cause);
    setState(QmpState.CLOSED);
    closed.tryComplete();
    // Closed while the first connect was under way: its caller hears it too.
    if (opening != null) {
      Promise<QmpConnection> p = opening;
      opening = null;
      p.fail(cause);
    }
  }

  private void setState(QmpState next) {
    state = next;
    if (reported == next) {
      return;
    }
    reported = next;
    for (Consumer<QmpState> l : List.copyOf(stateListeners)) {
      try {
        l.accept(next);
      } catch (RuntimeException e) {
        LOG.warn("QMP {}: state listener failed on {}", peer, next, e);
      }
    }
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }
}
