package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.LinkState;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayConnectionException;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestAuthorizer;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.impl.store.OpStore;
import io.qmpsidecar.relay.impl.store.OutboxStore;
import io.qmpsidecar.relay.impl.store.RelayDatabase;
import io.qmpsidecar.relay.impl.store.StoreState;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The host end: owns the store, the outbox, the dial loop and the current session, on one context. */
public final class RelayHostImpl implements RelayHost {

  private static final Logger log = LoggerFactory.getLogger(RelayHostImpl.class);

  private final Vertx vertx;
  private final Context context;
  private final RelayHostOptions options;
  private final RequestExecutor executor;
  private final RelayDatabase db;
  private final StoreState state;
  /** Most time a close waits for the outbox's last commit. */
  static final long CLOSE_TIMEOUT_MS = 5000;

  private final Outbox outbox;
  private final OpLedger ledger;
  private final RequestDispatcher dispatcher;
  private final WebSocketClient client;
  private final Backoff backoff;
  /** When the current link's hello was answered (System.nanoTime()), or 0 while it is not up. */
  private long upSince;
  private Handler<LinkState> linkHandler = s -> { };
  private HostSession session;
  private long redialTimer = -1;
  private boolean closed;

  private RelayHostImpl(Vertx vertx, Context context, RelayHostOptions options, RequestExecutor executor,
      RequestAuthorizer authorizer, RelayDatabase db, StoreState state) {
    this.vertx = vertx;
    this.context = context;
    this.options = options;
    this.executor = executor;
    this.db = db;
    this.state = state;
    this.outbox = new Outbox(vertx, new OutboxStore(db), state, options.maxPendingNotifications(),
        options.storeBatchSize(), options.maxMessageBytes(), options.maxOutboxEntries(), this::sendable);
    this.ledger = new OpLedger(new OpStore(db, options.maxStoredOps()));
    this.dispatcher = new RequestDispatcher(vertx, executor, authorizer, ledger, options.executorTimeout(),
        outbox::issuedUpTo);
    this.client = vertx.createWebSocketClient(Transport.client(options.tls(),
        (int) options.helloTimeout().toMillis(), options.maxMessageBytes()));
    this.backoff = new Backoff(options.reconnectInitialDelay(), options.reconnectMaxDelay());
  }

  /** See {@link RelayHost#start}. */
  public static Future<RelayHost> start(Vertx vertx, RelayHostOptions options, RequestExecutor executor,
      RequestAuthorizer authorizer) {
    try {
      options.checkTransport();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    Context context = vertx.getOrCreateContext();
    Promise<RelayHost> promise = Promise.promise();
    context.runOnContext(v -> RelayDatabase.open(vertx, options.storePath(), options.syncEveryCommit())
        .compose(db -> new OutboxStore(db).load(Outbox.RESERVATION)
            .compose(state -> new OpStore(db, options.maxStoredOps()).unfinished().map(unfinished -> {
              RelayHostImpl host = new RelayHostImpl(vertx, context, options, executor, authorizer, db, state);
              host.resumeUnfinished(unfinished);
              return host;
            }))
            .recover(e -> db.close().transform(x -> Future.failedFuture(e))))
        .onSuccess(host -> {
          log.info("relay host {} started: epoch {}, last seq {}, last acked {}, dialing {}:{}{}",
              options.hostId(), host.state.epoch(), host.state.lastSeq(), host.state.lastAcked(),
              options.dpuHost(), options.dpuPort(), options.path());
          if (host.state.skippedFrom() > 0) {
            log.warn("the last run of relay host {} stopped without closing its outbox: numbers {} to {} may have"
                + " reached the DPU without being stored; they are never used again, and a DPU that lacks what"
                + " they told gets a state.snapshot in their place", options.hostId(), host.state.skippedFrom(),
                host.state.lastSeq());
          }
          if (options.tls() != null) {
            vertx.executeBlocking(() -> TlsFailures.ownCertificateProblem(options.tls()))
                .onSuccess(problem -> {
                  if (problem != null) {
                    log.error("{}", problem);
                  }
                });
          }
          host.dial();
        })
        .<RelayHost>map(h -> h)
        .onComplete(promise));
    return promise.future();
  }

  /**
   * Ends the operations the last run of this host left unfinished (see {@link OpResumer}); repeats
   * of them are answered OP_INTERRUPTED from now on, before any link is up, until each has ended.
   */
  private void resumeUnfinished(List<OpStore.Unfinished> unfinished) {
    new OpResumer(vertx, executor, ledger, options.executorTimeout(),
        (opId, end) -> outbox.append(end.toNotification(opId))).resumeAll(unfinished);
  }

  @Override
  public Future<Long> notify(Notification notification) {
    Promise<Long> promise = Promise.promise();
    onContext(() -> outbox.append(notification).onComplete(promise));
    return promise.future();
  }

  @Override
  public RelayHost linkStateHandler(Handler<LinkState> handler) {
    onContext(() -> linkHandler = handler);
    return this;
  }

  @Override
  public long unacknowledged() {
    return outbox.unacknowledged();
  }

  @Override
  public long epoch() {
    return state.epoch();
  }

  @Override
  public Future<Void> close() {
    Promise<Void> promise = Promise.promise();
    onContext(() -> {
      if (closed) {
        promise.complete();
        return;
      }
      closed = true;
      vertx.cancelTimer(redialTimer);
      if (session != null) {
        session.close("the relay host is shutting down");
      }
      linkHandler.handle(new LinkState(LinkState.Status.CLOSED, null));
      outbox.close().timeout(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
          .onFailure(e -> {
            onContext(outbox::abandon);
            log.warn("relay host {} closed without storing all its notifications ({}); the next start skips"
                + " the numbers this run reserved", options.hostId(), e.getMessage());
          })
          .eventually(client::close).eventually(db::close).onComplete(promise);
    });
    return promise.future();
  }

  private void dial() {
    if (closed) {
      return;
    }
    linkHandler.handle(new LinkState(LinkState.Status.CONNECTING, null));
    WebSocketConnectOptions connect = new WebSocketConnectOptions()
        .setHost(options.dpuHost())
        .setPort(options.dpuPort())
        .setURI(options.path())
        .setSsl(options.tls() != null)
        .setTimeout(options.helloTimeout().toMillis());
    client.connect(connect).onComplete(ar -> {
      if (closed) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      if (ar.failed()) {
        String tls = options.tls() == null ? null : TlsFailures.dialFailure(ar.cause(), options.dpuHost());
        down(new RelayConnectionException("could not reach the DPU endpoint at " + options.dpuHost() + ":"
            + options.dpuPort() + options.path() + ": " + (tls != null ? tls : ar.cause().getMessage()), ar.cause()));
        return;
      }
      RpcPeer peer = new RpcPeer(vertx, ar.result(), new RpcPeer.Limits(options.maxMessageBytes(),
          options.maxInFlightRequests(), 16, options.helloTimeout(), options.heartbeatInterval(),
          options.heartbeatTimeout()), "DPU " + options.dpuHost() + ":" + options.dpuPort());
      session = new HostSession(peer, outbox, dispatcher, executor, hello(), dpu -> {
        upSince = System.nanoTime();
        log.info("relay link up to DPU {} (protocol {}); DPU last acked seq {}", dpu.dpuId(), dpu.version(),
            dpu.lastAcked());
        linkHandler.handle(new LinkState(LinkState.Status.CONNECTED, null));
      }, this::down);
      session.start();
    });
  }

  private Map<String, Object> hello() {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("versions", List.of(RelayMethods.PROTOCOL_VERSION));
    p.put("hostId", options.hostId());
    p.put("epoch", state.epoch());
    p.put("capabilities", List.of("opId", "snapshot"));
    return p;
  }

  private void down(Throwable cause) {
    session = null;
    if (closed) {
      return;
    }
    // A link that held for a heartbeat interval was up: the backoff starts over. One that ends
    // sooner after its hello (a snapshot over the limit, a DPU that drops it) counts as a failed dial.
    if (upSince != 0 && System.nanoTime() - upSince >= options.heartbeatInterval().toNanos()) {
      backoff.reset();
    }
    upSince = 0;
    long delay = backoff.nextDelayMs();
    log.warn("relay link down ({}); redialing in {} ms", cause.getMessage(), delay);
    linkHandler.handle(new LinkState(LinkState.Status.DISCONNECTED, cause));
    redialTimer = vertx.setTimer(delay, t -> dial());
  }

  private void sendable() {
    if (session != null) {
      session.sendable();
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
