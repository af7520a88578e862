package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayConnectionException;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayOverloadedException;
import io.qmpsidecar.relay.RelayTimeoutException;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.MessageAssembler;
import io.qmpsidecar.relay.impl.codec.RpcDecodeException;
import io.qmpsidecar.relay.impl.codec.RpcMessage;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.internal.http.WebSocketInternal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON-RPC 2.0 over one WebSocket, shared by both ends: matches answers to requests (each with its
 * timer), bounds requests in flight both ways, answers bad messages with JSON-RPC errors without
 * dropping the link, and sends heartbeats and declares the peer dead after a silence. All calls
 * and callbacks run on the WebSocket's context.
 */
public final class RpcPeer {

  private static final Logger log = LoggerFactory.getLogger(RpcPeer.class);
  private static final String PING = JsonRpcCodec.notification(RelayMethods.PING, Map.of());
  /** How long the closing handshake may take before the connection is dropped. */
  private static final long END_GRACE_MS = 2000;
  private static final short CLOSE_NORMAL = 1000;

  /** What the owner of the link receives. */
  public interface Inbound {
    /** A request to serve; answer it with {@link #respond} or {@link #respondError}. */
    void request(RpcMessage.Request request);

    void notification(RpcMessage.Notification notification);

    /** The link is gone; called once. */
    void closed(Throwable cause);
  }

  /**
   * Bounds of one link.
   *
   * @param maxMessageBytes largest message accepted or sent
   * @param maxInboundInFlight requests from the peer being served at once
   * @param maxOutboundPending our requests waiting for an answer
   * @param requestTimeout how long our request waits for its answer
   * @param heartbeatInterval how often we ping
   * @param heartbeatTimeout silence after which the peer is dead
   */
  public record Limits(int maxMessageBytes, int maxInboundInFlight, int maxOutboundPending,
      Duration requestTimeout, Duration heartbeatInterval, Duration heartbeatTimeout) {}

  private record Pending(String method, Promise<JsonNode> promise, long timer) {}

  private final Vertx vertx;
  private final WebSocketBase ws;
  private final Limits limits;
  private final String peerName;
  private final Map<Long, Pending> pending = new HashMap<>();
  private Inbound inbound;
  private long nextId = 1;
  private int inboundInFlight;
  private long lastInboundNanos = System.nanoTime();
  private long heartbeatTimer = -1;
  private boolean closed;
  /** The TCP connection has ended (the WebSocket's close handler ran). */
  private boolean ended;

  public RpcPeer(Vertx vertx, WebSocketBase ws, Limits limits, String peerName) {
    this.vertx = vertx;
    this.ws = ws;
    this.limits = limits;
    this.peerName = peerName;
  }

  /** Starts reading and heartbeating; call once, on the WebSocket's context. */
  public void start(Inbound inbound) {
    this.inbound = inbound;
    MessageAssembler assembler = new MessageAssembler(limits.maxMessageBytes(), new MessageAssembler.Sink() {
      @Override
      public void message(String text) {
        onText(text);
      }

      @Override
      public void oversized(long bytes) {
        log.warn("{} sent a message of {} bytes, over the limit of {}", peerName, bytes, limits.maxMessageBytes());
        write(JsonRpcCodec.error(NullNode.getInstance(), RelayError.of(ErrorCode.MESSAGE_TOO_LARGE,
            "message of " + bytes + " bytes exceeds the limit of " + limits.maxMessageBytes()
                + " bytes; split the request or raise maxMessageBytes on both ends")));
      }

      @Override
      public void binary() {
        write(JsonRpcCodec.error(NullNode.getInstance(), RelayError.of(ErrorCode.INVALID_REQUEST,
            "binary messages are not part of the protocol; send JSON-RPC as text messages")));
      }
    });
    ws.frameHandler(frame -> {
      lastInboundNanos = System.nanoTime();
      if (frame.isClose()) {
        closed(closedByPeer());
        endWithin(END_GRACE_MS);
      } else {
        assembler.frame(frame);
      }
    });
    ws.closeHandler(v -> {
      ended = true;
      closed(closedByPeer());
    });
    ws.exceptionHandler(e -> close("link to " + peerName + " failed: " + e.getMessage(), closeStatus(e)));
    heartbeatTimer = vertx.setPeriodic(limits.heartbeatInterval().toMillis(), t -> heartbeat());
  }

  /**
   * Sends a request.
   *
   * @return completes with the result member; fails with {@link RelayErrorException},
   *     {@link RelayTimeoutException}, {@link RelayOverloadedException} or
   *     {@link RelayConnectionException}
   */
  public Future<JsonNode> request(String method, Object params) {
    if (closed) {
      return Future.failedFuture(new RelayConnectionException("link to " + peerName
          + " is closed; wait for the host to reconnect, then retry with the same opId"));
    }
    if (pending.size() >= limits.maxOutboundPending()) {
      return Future.failedFuture(new RelayOverloadedException(pending.size() + " requests to " + peerName
          + " are waiting for answers; wait for some to finish before sending more", limits.maxOutboundPending()));
    }
    long id = nextId++;
    String text = JsonRpcCodec.request(id, method, params);
    if (tooLarge(text)) {
      return Future.failedFuture(new RelayErrorException(RelayError.of(ErrorCode.MESSAGE_TOO_LARGE,
          method + " request exceeds the limit of " + limits.maxMessageBytes() + " bytes; send less per request")));
    }
    Promise<JsonNode> promise = Promise.promise();
    Duration timeout = limits.requestTimeout();
    long timer = vertx.setTimer(timeout.toMillis(), t -> {
      Pending p = pending.remove(id);
      if (p != null) {
        p.promise().fail(new RelayTimeoutException(method, timeout));
      }
    });
    pending.put(id, new Pending(method, promise, timer));
    write(text);
    return promise.future();
  }

  /** Answers a request from the peer. */
  public void respond(JsonNode id, Object result) {
    inboundInFlight--;
    String text = JsonRpcCodec.result(id, result);
    if (tooLarge(text)) {
      write(JsonRpcCodec.error(id, RelayError.of(ErrorCode.MESSAGE_TOO_LARGE, "the answer exceeds the limit of "
          + limits.maxMessageBytes() + " bytes; ask for less (e.g. one VM) or raise maxMessageBytes")));
      return;
    }
    write(text);
  }

  /** Answers a request from the peer with an error. */
  public void respondError(JsonNode id, RelayError error) {
    inboundInFlight--;
    writeError(id, error);
  }

  /**
   * Writes an error answer; one over the limit (its message or data echo what the peer sent) is
   * replaced by {@code -32010} with the same id, so that the peer still gets an answer it reads.
   */
  private void writeError(JsonNode id, RelayError error) {
    String text = JsonRpcCodec.error(id, error);
    if (tooLarge(text)) {
      write(JsonRpcCodec.error(id, RelayError.of(ErrorCode.MESSAGE_TOO_LARGE, "the error answer (code "
          + error.code().wireCode() + ") exceeds the limit of " + limits.maxMessageBytes()
          + " bytes, mostly what the request sent; send shorter values")));
      return;
    }
    write(text);
  }

  /** Sends an already encoded message; false when the link is closed or closing. */
  public boolean write(String text) {
    if (isClosing()) {
      return false;
    }
    ws.writeTextMessage(text);
    return true;
  }

  /** False once the link is closing: nothing more is sent on it, so nothing waits for it to drain. */
  public boolean writeQueueFull() {
    return !isClosing() && ws.writeQueueFull();
  }

  public void drainHandler(Handler<Void> handler) {
    ws.drainHandler(handler);
  }

  /**
   * Closed, or the peer's close frame has arrived and the close handler has not run yet (it runs
   * when the TCP connection ends, up to the closing timeout later); Vert.x refuses to report the
   * write queue of such a socket.
   */
  private boolean isClosing() {
    return closed || ws.isClosed();
  }

  /** Closes the link now: pending requests fail, the owner is told, the socket is closed. */
  public void close(String reason) {
    close(reason, CLOSE_NORMAL);
  }

  /**
   * The close status for a failure of the link: the WebSocket layer's own for a frame it refused
   * (1009 for one over four times {@code maxMessageBytes}, 1002 for a malformed one), else 1000.
   */
  private static short closeStatus(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof CorruptedWebSocketFrameException corrupted && corrupted.closeStatus() != null) {
        return (short) corrupted.closeStatus().code();
      }
    }
    return CLOSE_NORMAL;
  }

  /** {@link #close(String)} with WebSocket close status {@code status}. */
  private void close(String reason, short status) {
    closed(new RelayConnectionException(reason));
    ws.close(status, reason.length() > 120 ? reason.substring(0, 120) : reason);
    endWithin(END_GRACE_MS);
  }

  private RelayConnectionException closedByPeer() {
    return new RelayConnectionException("link to " + peerName + " closed"
        + (ws.closeReason() == null ? "" : ": " + ws.closeReason()));
  }

  /**
   * Ends the TCP connection if the closing handshake has not within {@code ms}. A WebSocket client
   * that received the server's close frame waits for the server to end the connection, with no
   * timeout of its own (Vert.x's closing timeout covers only a close we start): a DPU that
   * vanishes right after its close frame would leave the socket open for good, and closing the
   * host's client would wait for it. Vert.x offers no public way to drop one WebSocket's
   * connection, hence its internal interface; {@code RelayLinkFailureTest} shows it works.
   */
  private void endWithin(long ms) {
    vertx.setTimer(ms, t -> {
      if (!ended && ws instanceof WebSocketInternal internal) {
        log.info("{} did not end the connection {} ms after the link closed; dropping it", peerName, ms);
        internal.channelHandlerContext().close();
      }
    });
  }

  private void onText(String text) {
    RpcMessage message;
    try {
      message = JsonRpcCodec.decode(text);
    } catch (RpcDecodeException e) {
      log.warn("{} sent a bad message: {}", peerName, e.getMessage());
      writeError(e.id(), e.error());
      return;
    }
    if (message instanceof RpcMessage.Request r) {
      if (inboundInFlight >= limits.maxInboundInFlight()) {
        write(JsonRpcCodec.error(r.id(), new RelayError(ErrorCode.TOO_MANY_REQUESTS, limits.maxInboundInFlight()
            + " requests are already in flight; wait for answers before sending more (the same opId may be"
            + " retried: nothing ran)", Map.of("limit", limits.maxInboundInFlight()))));
        return;
      }
      inboundInFlight++;
      inbound.request(r);
    } else if (message instanceof RpcMessage.Notification n) {
      if (!RelayMethods.PING.equals(n.method())) {
        inbound.notification(n);
      }
    } else if (message instanceof RpcMessage.Result r) {
      Pending p = takePending(r.id());
      if (p != null) {
        p.promise().complete(r.result());
      }
    } else if (message instanceof RpcMessage.Error e) {
      Pending p = takePending(e.id());
      if (p != null) {
        p.promise().fail(new RelayErrorException(e.error()));
      } else {
        log.warn("{} answered with an error no request of ours matches: {}", peerName, e.error().message());
      }
    }
  }

  private Pending takePending(JsonNode id) {
    Pending p = id.isIntegralNumber() ? pending.remove(id.asLong()) : null;
    if (p == null) {
      log.debug("{} answered id {} that no pending request has; dropped", peerName, id);
      return null;
    }
    vertx.cancelTimer(p.timer());
    return p;
  }

  private void heartbeat() {
    long silentMs = (System.nanoTime() - lastInboundNanos) / 1_000_000;
    if (silentMs > limits.heartbeatTimeout().toMillis()) {
      close("no message from " + peerName + " for " + silentMs + " ms (heartbeat timeout "
          + limits.heartbeatTimeout().toMillis() + " ms); the peer is presumed dead");
    } else {
      write(PING);
    }
  }

  /** The largest message either end sends or accepts on this link, in bytes. */
  public int maxMessageBytes() {
    return limits.maxMessageBytes();
  }

  /** True when {@code text} is over maxMessageBytes: the peer would drop it unread. */
  public boolean tooLarge(String text) {
    return text.length() > limits.maxMessageBytes() / 3
        && text.getBytes(StandardCharsets.UTF_8).length > limits.maxMessageBytes();
  }

  private void closed(Throwable cause) {
    if (closed) {
      return;
    }
    closed = true;
    vertx.cancelTimer(heartbeatTimer);
    for (Pending p : new ArrayList<>(pending.values())) {
      vertx.cancelTimer(p.timer());
      p.promise().fail(new RelayConnectionException("link to " + peerName + " closed before " + p.method()
          + " was answered; retry after the link is back (same opId)", cause));
    }
    pending.clear();
    if (inbound != null) {
      inbound.closed(cause);
    }
  }
}
