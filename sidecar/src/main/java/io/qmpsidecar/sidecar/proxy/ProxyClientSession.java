package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of the proxy socket: it gets QEMU's greeting, negotiates its own capabilities, and
 * each of its commands is checked, policy-decided as its caller and forwarded over the shared
 * QMP connection, with the reply carrying the client's own {@code id}. All state is confined to
 * the client socket's context; upstream replies and events hop onto it.
 *
 * <p>Memory per client is bounded: at most {@code maxPipelined} commands are unanswered (then
 * its socket is not read), and while its socket's write queue is full its event subscription is
 * paused, so events wait in the subscription's bounded queue and are dropped and counted beyond.
 */
final class ProxyClientSession {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyClientSession.class);
  private static final String CAPABILITIES = "qmp_capabilities";
  /**
   * Events handed over from the QEMU connection's event loop and not yet written: a safety bound
   * for when this client's event loop lags; a slow reader is bounded by the paused subscription.
   */
  static final int MAX_EVENTS_IN_TRANSIT = 1024;

  private final NetSocket socket;
  private final Context context;
  private final QmpConnection upstream;
  private final PolicyEngine policy;
  private final Caller caller;
  private final QmpProxyOptions options;
  private final Consumer<ProxyClientSession> onClose;
  private final JsonValueSplitter lines;
  private final ReplyOrder replies;
  private final List<String> offered;
  private final AtomicLong commands = new AtomicLong();
  private final AtomicLong denied = new AtomicLong();
  private final AtomicLong eventsDelivered = new AtomicLong();
  /** Events dropped on their way to this context because too many were already under way. */
  private final AtomicLong eventsDroppedInTransit = new AtomicLong();
  private final AtomicInteger eventsInTransit = new AtomicInteger();

  private volatile boolean negotiated;
  private volatile QmpSubscription subscription;
  private boolean oob;
  private int oobPending;
  private boolean writeBlocked;
  private boolean readingPaused;
  private boolean closed;

  ProxyClientSession(NetSocket socket, QmpConnection upstream, PolicyEngine policy, Caller caller,
      QmpProxyOptions options, Consumer<ProxyClientSession> onClose) {
    this.socket = socket;
    this.context = Vertx.currentContext();
    this.upstream = upstream;
    this.policy = policy;
    this.caller = caller;
    this.options = options;
    this.onClose = onClose;
    this.offered = upstream.oobEnabled() ? List.of("oob") : List.of();
    this.replies = new ReplyOrder(this::send);
    this.lines = new JsonValueSplitter(options.maxLineBytes(), this::onCommand,
        () -> refuseAndClose("command longer than " + options.maxLineBytes() + " bytes: the proxy"
            + " closes this connection; send shorter commands"));
  }

  /** Greets the client and starts reading its commands; runs on the socket's context. */
  void start() {
    socket.handler(lines);
    socket.drainHandler(v -> {
      writeBlocked = false;
      QmpSubscription sub = subscription;
      if (sub != null) {
        sub.resume();
      }
      updateReading();
    });
    socket.closeHandler(v -> closed());
    send(ProxyWire.greeting(upstream.greeting(), offered));
  }

  Caller caller() {
    return caller;
  }

  ProxyClientStats stats() {
    return new ProxyClientStats(caller.id(), negotiated, commands.get(), denied.get(),
        eventsDelivered.get(), eventsDropped());
  }

  long eventsDropped() {
    QmpSubscription sub = subscription;
    return eventsDroppedInTransit.get() + (sub == null ? 0 : sub.dropped());
  }

  /** Disconnects the client (the proxy is closing). */
  Future<Void> close() {
    return socket.close();
  }

  private void onCommand(byte[] line) {
    if (closed) {
      return;
    }
    ProxyRequest request = ProxyRequest.parse(line, oob);
    if (request.error() != null) {
      answer(request.error(), request.id());
    } else if (!negotiated) {
      if (CAPABILITIES.equals(request.command())) {
        negotiate(request);
      } else {
        answer(QmpError.commandNotFound("Expecting capabilities negotiation with 'qmp_capabilities'"),
            request.id());
      }
    } else if (CAPABILITIES.equals(request.command()) && !request.oob()) {
      answer(QmpError.commandNotFound("Capabilities negotiation is already complete, command ignored"),
          request.id());
    } else {
      decideAndForward(request, new String(line, StandardCharsets.UTF_8));
    }
    updateReading();
  }

  private void negotiate(ProxyRequest request) {
    CapabilityNegotiation result = CapabilityNegotiation.of(request.arguments(), offered);
    if (result.error() != null) {
      answer(result.error(), request.id());
      return;
    }
    negotiated = true;
    oob = result.oob();
    subscription = upstream.subscribe(EventFilter.all(), options.eventQueueCapacity(), new Events());
    replies.fill(replies.reserve(), ProxyWire.success(null, request.id()));
  }

  private void decideAndForward(ProxyRequest request, String raw) {
    Decision decision = policy.decideText(caller, raw, Optional.empty());
    if (!decision.allowed()) {
      denied.incrementAndGet();
      LOG.info("QMP proxy {}: {} denied by policy rule {}: {}", options.socketPath(), caller,
          decision.ruleId(), decision.reason());
      answer(QmpError.generic("denied by policy rule " + decision.ruleId() + ": "
          + decision.reason()), request.id());
      return;
    }
    commands.incrementAndGet();
    QmpCommand<JsonNode> command = QmpCommand.raw(request.command(), request.arguments());
    JsonNode id = request.id();
    if (request.oob()) {
      // QEMU answers exec-oob at once, ahead of queued in-band replies: so does the proxy.
      oobPending++;
      upstream.executeOob(command).onComplete(ar -> onContext(() -> {
        oobPending--;
        send(reply(ar, id));
        updateReading();
      }));
    } else {
      ReplyOrder.Slot slot = replies.reserve();
      upstream.execute(command).onComplete(ar -> onContext(() -> {
        replies.fill(slot, reply(ar, id));
        updateReading();
      }));
    }
  }

  private static Buffer reply(AsyncResult<JsonNode> ar, JsonNode id) {
    if (ar.succeeded()) {
      return ProxyWire.success(ar.result(), id);
    }
    Throwable cause = ar.cause();
    QmpError error = cause instanceof QmpCommandException e
        ? new QmpError(e.errorClass(), e.description())
        : QmpError.generic("qmp-sidecar proxy: " + cause.getMessage());
    return ProxyWire.error(error, id);
  }

  private void answer(QmpError error, JsonNode id) {
    replies.fill(replies.reserve(), ProxyWire.error(error, id));
  }

  private void send(Buffer line) {
    if (closed) {
      return;
    }
    socket.write(line);
    if (!writeBlocked && socket.writeQueueFull()) {
      writeBlocked = true;
      QmpSubscription sub = subscription;
      if (sub != null) {
        sub.pause();
      }
      updateReading();
    }
  }

  /** Reads the client's socket only while it may pipeline more and its replies can be written. */
  private void updateReading() {
    boolean read = !closed && !writeBlocked
        && replies.pending() + oobPending < options.maxPipelined();
    if (read && readingPaused) {
      readingPaused = false;
      socket.resume();
      lines.resume();
    } else if (!read && !readingPaused) {
      readingPaused = true;
      lines.pause();
      socket.pause();
    }
  }

  private void refuseAndClose(String desc) {
    if (closed) {
      return;
    }
    LOG.warn("QMP proxy {}: {}: {}", options.socketPath(), caller, desc);
    socket.write(ProxyWire.error(QmpError.generic(desc), null));
    socket.close();
  }

  private void closed() {
    if (closed) {
      return;
    }
    closed = true;
    QmpSubscription sub = subscription;
    if (sub != null) {
      sub.cancel();
    }
    onClose.accept(this);
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** Runs on the upstream connection's context; hands events over to the session's. */
  private final class Events implements QmpEventListener {
    @Override
    public void onEvent(QmpEvent event) {
      // The subscription's queue bounds what waits upstream; this bounds what is under way.
      if (eventsInTransit.incrementAndGet() > MAX_EVENTS_IN_TRANSIT) {
        eventsInTransit.decrementAndGet();
        if (eventsDroppedInTransit.incrementAndGet() == 1) {
          LOG.warn("QMP proxy {}: {}'s event loop lags: events are dropped for it", options.socketPath(), caller);
        }
        return;
      }
      onContext(() -> {
        eventsInTransit.decrementAndGet();
        if (!closed) {
          eventsDelivered.incrementAndGet();
          send(ProxyWire.event(event));
        }
      });
    }

    @Override
    public void onGap(EventGap gap) {
      if (gap == EventGap.DROPPED) {
        LOG.warn("QMP proxy {}: {} reads too slowly: {} events dropped so far (QMP cannot tell"
            + " the client; it should re-query the state it tracks)", options.socketPath(), caller,
            eventsDropped());
      } else {
        LOG.warn("QMP proxy {}: the connection to QEMU was re-established; {} may have missed"
            + " events", options.socketPath(), caller);
      }
    }
  }
}
