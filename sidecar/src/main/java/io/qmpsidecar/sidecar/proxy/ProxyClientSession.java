package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client of a proxy socket: it gets QEMU's greeting, negotiates its own capabilities, and each
 * of its commands is read once by QEMU's rules, decided by the gate as its caller and forwarded
 * over the shared QMP connection, with the reply carrying the client's own {@code id}. State is
 * confined to the client socket's context; upstream replies and events hop onto it in the order
 * QEMU wrote them.
 *
 * <p>Memory per client is bounded: at most {@code maxPipelined} commands are unanswered (then
 * its socket is not read), and while its socket cannot take more, at most
 * {@code eventQueueCapacity} events wait for it; further events are dropped and counted at once.
 */
final class ProxyClientSession {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyClientSession.class);
  private static final String CAPABILITIES = "qmp_capabilities";
  /**
   * The deepest arguments forwarded: the policy, its audit and the QMP client write values with
   * Jackson, whose writer refuses nesting beyond 1000; no QMP command needs a tenth of this.
   */
  static final int MAX_ARGUMENT_DEPTH = 100;
  /** How long a closing proxy lets a client take what is queued for it. */
  static final long CLOSE_GRACE_MS = 1000;

  /** A line waiting for the client's socket to take more. */
  private record Pending(Buffer line, boolean event) {}

  private final NetSocket socket;
  private final ProxyChannel channel;
  private final Context context;
  private final QmpProxyServer server;
  private final Caller caller;
  private final PeerIdentity peer;
  private final String socketPath;
  private final QmpProxyOptions options;
  private final ClientInput input;
  private final ReplyOrder replies;
  private final List<String> offered;
  private final CallerStats stats;
  private final ArrayDeque<Pending> blocked = new ArrayDeque<>();
  private final AtomicLong commands = new AtomicLong();
  private final AtomicLong denied = new AtomicLong();
  private final AtomicLong eventsDelivered = new AtomicLong();
  private final AtomicLong eventsDropped = new AtomicLong();
  /** Events handed to this session and not yet written to its socket (under way or waiting). */
  private final AtomicInteger eventsWaiting = new AtomicInteger();

  private volatile boolean negotiated;
  private volatile boolean closed;
  private boolean oob;
  private int oobPending;
  private boolean writeBlocked;
  private boolean reading;
  private boolean inputEnded;
  private boolean closing;
  private Future<Void> lastWrite = Future.succeededFuture();

  // Touched only on the upstream connection's context, where events are offered.
  private boolean dropping;
  private long droppedInStreak;
  private long lastDropLog;

  ProxyClientSession(NetSocket socket, ProxyChannel channel, QmpProxyServer server, Caller caller,
      PeerIdentity peer, String socketPath) {
    this.socket = socket;
    this.channel = channel;
    this.context = Vertx.currentContext();
    this.server = server;
    this.caller = caller;
    this.peer = peer;
    this.socketPath = socketPath;
    this.options = server.options();
    this.offered = server.offeredCapabilities();
    this.stats = server.statsOf(caller);
    this.replies = new ReplyOrder(line -> out(line, false));
    this.input = new ClientInput(new QemuJsonStreamer(options.maxLineBytes(),
        new QemuJsonStreamer.Sink() {
          @Override
          public void value(JsonNode message) {
            onRequest(ProxyRequest.of(message, oob));
          }

          @Override
          public void error(String desc) {
            onRequest(ProxyRequest.unreadable(desc));
          }
        }));
  }

  /** Greets the client and starts reading its commands; runs on the socket's context. */
  void start() {
    channel.onInputEnd(socket, this::inputEnded);
    // Not reading yet: what the socket has already read waits in the input until it is.
    input.pause();
    socket.handler(input);
    socket.drainHandler(v -> flushBlocked());
    socket.closeHandler(v -> closed());
    out(ProxyWire.greeting(server.upstream().greeting(), offered), false);
    updateReading();
  }

  /** The proxy knows QEMU's commands now (or has given up): read what the client sends. */
  void commandsSettled() {
    onContext(this::updateReading);
  }

  Caller caller() {
    return caller;
  }

  boolean negotiated() {
    return negotiated;
  }

  ProxyClientStats stats() {
    return new ProxyClientStats(caller.id(), peer == null ? -1 : peer.uid(),
        peer == null ? -1 : peer.pid(), socketPath, negotiated, commands.get(), denied.get(),
        eventsDelivered.get(), eventsDropped.get());
  }

  /**
   * Disconnects the client (the proxy is closing): what is queued for it is written first, for at
   * most {@link #CLOSE_GRACE_MS}; a client that does not read is then cut off, or its full socket
   * would hold the close (and the proxy's) forever.
   */
  Future<Void> close() {
    Future<Void> closed = channel.closed();
    socket.close();
    long cut = context.owner().setTimer(CLOSE_GRACE_MS, t -> channel.closeNow());
    return closed.onComplete(v -> context.owner().cancelTimer(cut));
  }

  private void onRequest(ProxyRequest request) {
    if (closed) {
      return;
    }
    if (request.error() == null) {
      request = admit(request);
    }
    if (request.error() != null) {
      answer(request, ProxyWire.error(request.error(), request.id()));
    } else if (!negotiated) {
      negotiate(request);
    } else {
      decideAndForward(request);
    }
    updateReading();
  }

  /** QEMU's checks after the message's form: negotiation state, then whether the command exists. */
  private ProxyRequest admit(ProxyRequest request) {
    String command = request.command();
    if (!negotiated) {
      return command.equals(CAPABILITIES) ? request : request.refusedWith(QmpError.commandNotFound(
          "Expecting capabilities negotiation with 'qmp_capabilities'"));
    }
    if (command.equals(CAPABILITIES) && !request.oob()) {
      CapabilityNegotiation again = CapabilityNegotiation.of(request.arguments(), offered, true);
      return request.refusedWith(again.error());
    }
    if (!server.knowsCommand(command)) {
      return request.refusedWith(QmpError.commandNotFound("The command " + command
          + " has not been found"));
    }
    return request;
  }

  private void negotiate(ProxyRequest request) {
    CapabilityNegotiation result = CapabilityNegotiation.of(request.arguments(), offered, false);
    if (result.error() != null) {
      answer(request, ProxyWire.error(result.error(), request.id()));
      return;
    }
    oob = result.oob();
    negotiated = true;
    answer(request, ProxyWire.success(null, request.id()));
  }

  private void decideAndForward(ProxyRequest request) {
    var arguments = request.arguments() != null ? request.arguments()
        : JsonNodeFactory.instance.objectNode();
    int depth = depth(arguments);
    if (depth > MAX_ARGUMENT_DEPTH) {
      answer(request, ProxyWire.error(QmpError.generic("qmp-sidecar proxy: the arguments of '"
          + request.command() + "' are nested " + depth + " levels deep; the proxy forwards at"
          + " most " + MAX_ARGUMENT_DEPTH + " (QEMU reads up to 1024): send flatter arguments"),
          request.id()));
      return;
    }
    Decision decision;
    try {
      decision = server.gate().decide(caller, request.command(), arguments);
    } catch (RuntimeException e) {
      LOG.error("QMP proxy {}: the decision on {}'s '{}' failed", socketPath, caller,
          request.command(), e);
      answer(request, ProxyWire.error(QmpError.generic("qmp-sidecar proxy: the policy could not"
          + " decide on '" + request.command() + "' (" + e.getMessage() + "); nothing was sent to"
          + " QEMU: see the sidecar's log"), request.id()));
      return;
    }
    if (!decision.allowed()) {
      denied.incrementAndGet();
      stats.denied.incrementAndGet();
      LOG.info("QMP proxy {}: {} denied '{}' by policy rule {}: {}", socketPath, caller,
          request.command(), decision.ruleId(), decision.reason());
      answer(request, ProxyWire.error(QmpError.generic("denied by policy rule "
          + decision.ruleId() + ": " + decision.reason()), request.id()));
      return;
    }
    commands.incrementAndGet();
    stats.commands.incrementAndGet();
    // Exactly the object the gate decided on is what QEMU gets (QEMU reads an empty one as none).
    QmpCommand<JsonNode> command = QmpCommand.raw(request.command(), arguments);
    JsonNode id = request.id();
    if (request.oob()) {
      // QEMU answers exec-oob at once, ahead of queued in-band replies: so does the proxy.
      oobPending++;
      server.upstream().executeOob(command).onComplete(ar -> onContext(() -> {
        oobPending--;
        out(reply(ar, id), false);
        afterReply();
      }));
    } else {
      ReplyOrder.Slot slot = replies.reserve();
      // Runs where QEMU's reply is read, after every event QEMU wrote before it was handed over.
      server.upstream().execute(command).onComplete(ar -> onContext(() -> {
        replies.fill(slot, reply(ar, id));
        afterReply();
      }));
    }
  }

  /** Containers within containers, the object itself counting 1. */
  private static int depth(JsonNode value) {
    int deepest = 0;
    for (JsonNode child : value) {
      deepest = Math.max(deepest, depth(child));
    }
    return value.isContainerNode() ? deepest + 1 : 0;
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

  /** An answer the proxy gives itself: at once for exec-oob, else in the order of the commands. */
  private void answer(ProxyRequest request, Buffer line) {
    if (request.immediate()) {
      out(line, false);
    } else {
      replies.fill(replies.reserve(), line);
    }
  }

  private void afterReply() {
    updateReading();
    finishIfDone();
  }

  /**
   * Called on the upstream connection's context with every event (as the line QEMU wrote), in
   * QEMU's order relative to replies. Hands it to this client's context, or drops and counts it
   * when too many wait.
   */
  void offerEvent(byte[] event) {
    if (!negotiated || closed) {
      return;
    }
    if (eventsWaiting.incrementAndGet() > options.eventQueueCapacity()) {
      eventsWaiting.decrementAndGet();
      dropped();
      return;
    }
    if (dropping) {
      dropping = false;
      LOG.info("QMP proxy {}: {} reads its events again; {} were dropped for it meanwhile ({} in"
          + " all)", socketPath, caller, droppedInStreak, eventsDropped.get());
    }
    Buffer line = Buffer.buffer(event);
    onContext(() -> {
      if (closed) {
        eventsWaiting.decrementAndGet();
      } else {
        out(line, true);
      }
    });
  }

  private void dropped() {
    eventsDropped.incrementAndGet();
    server.eventDropped(this);
    long now = System.nanoTime();
    if (!dropping) {
      dropping = true;
      droppedInStreak = 0;
      lastDropLog = now;
      LOG.warn("QMP proxy {}: {} ({}) does not read its events: {} are waiting, further ones are"
          + " dropped and counted (QMP cannot tell the client; it should re-query the state it"
          + " tracks)", socketPath, caller, peer, options.eventQueueCapacity());
    } else if (now - lastDropLog > 10_000_000_000L) {
      lastDropLog = now;
      LOG.warn("QMP proxy {}: {} still does not read its events: {} dropped so far", socketPath,
          caller, eventsDropped.get());
    }
    droppedInStreak++;
  }

  /** Writes a line, or keeps it in order behind lines the socket could not take yet. */
  private void out(Buffer line, boolean event) {
    if (closed) {
      if (event) {
        eventsWaiting.decrementAndGet();
      }
      return;
    }
    if (writeBlocked) {
      blocked.add(new Pending(line, event));
      return;
    }
    write(line, event);
  }

  private void write(Buffer line, boolean event) {
    lastWrite = socket.write(line);
    if (event) {
      eventsWaiting.decrementAndGet();
      eventsDelivered.incrementAndGet();
      stats.eventsDelivered.incrementAndGet();
    }
    if (socket.writeQueueFull()) {
      writeBlocked = true;
      updateReading();
    }
  }

  private void flushBlocked() {
    writeBlocked = false;
    while (!writeBlocked && !blocked.isEmpty()) {
      Pending next = blocked.pollFirst();
      write(next.line(), next.event());
    }
    updateReading();
    finishIfDone();
  }

  /**
   * Takes the client's commands only once the proxy knows QEMU's commands, and then while the
   * client may pipeline more and its replies can be written; reads its socket only once every
   * byte read before is taken: at most one read waits in {@code input}, and a client that writes
   * many commands at once does not switch the socket's reading on and off for each one.
   */
  private void updateReading() {
    boolean read = !closed && !writeBlocked && server.commandsSettled()
        && replies.pending() + oobPending < options.maxPipelined();
    if (read == reading) {
      return;
    }
    reading = read;
    if (read) {
      input.resume();
    } else {
      input.pause();
    }
    // resume() may have fed commands enough to stop taking them again: decide on what it left.
    channel.reading(reading && !inputEnded && input.consumed());
    finishIfDone();
  }

  /** The client shut down its sending side: answer what it sent, then close, as QEMU does. */
  private void inputEnded() {
    inputEnded = true;
    LOG.debug("QMP proxy {}: {} finished sending", socketPath, caller);
    finishIfDone();
  }

  private void finishIfDone() {
    if (inputEnded && !closing && !closed && input.consumed()
        && replies.pending() == 0 && oobPending == 0 && blocked.isEmpty()) {
      closing = true;
      // Vert.x closes at once, dropping what the kernel has not taken yet: wait for the last line.
      lastWrite.onComplete(ar -> socket.close());
    }
  }

  private void closed() {
    if (closed) {
      return;
    }
    closed = true;
    blocked.clear();
    server.gone(this);
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }
}
