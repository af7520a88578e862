package io.qmpsidecar.qmp.impl;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.QmpFdPassingException;
import io.qmpsidecar.qmp.QmpQueueFullException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.qmp.UnixFd;
import io.qmpsidecar.qmp.impl.codec.QmpCommandEncoder;
import io.qmpsidecar.qmp.impl.codec.QmpMessage;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends commands and matches replies to them by id. At most {@code maxInFlight} in-band
 * commands are out at once, because QEMU stops reading its socket beyond its own queue; the rest
 * wait in a bounded queue, in order. OOB commands go out at once. A command that carries file
 * descriptors goes out only when nothing is in flight: QEMU keeps the descriptors of the last
 * message that brought some until a command takes them, and drops them when the next such
 * message arrives. Confined to the connection's context, except for the two counts, which any
 * thread may read.
 */
final class CommandPipeline {
  private static final Logger LOG = LoggerFactory.getLogger(CommandPipeline.class);

  private final Vertx vertx;
  private final QmpCommandEncoder encoder;
  private final int maxInFlight;
  private final int maxQueued;
  private final String peer;
  /** In send order; QEMU answers in-band commands in that order. */
  private final Map<Long, PendingCommand<?>> inFlight = new HashMap<>();
  private final ArrayDeque<PendingCommand<?>> inBandOrder = new ArrayDeque<>();
  private final ArrayDeque<PendingCommand<?>> waiting = new ArrayDeque<>();
  private Consumer<Buffer> writer;
  private FdWriter fdWriter;
  private long nextId;
  /**
   * The sizes of {@code inFlight} and {@code waiting}, published after each change and before
   * any caller hears of it.
   */
  private volatile int inFlightCount;
  private volatile int queuedCount;

  /** Sends descriptors on the current socket just before the next bytes written. */
  interface FdWriter {
    /** @throws QmpFdPassingException when they cannot be sent; nothing was sent then */
    void send(int[] fds);
  }

  CommandPipeline(Vertx vertx, QmpCommandEncoder encoder, int maxInFlight, int maxQueued, String peer) {
    this.vertx = vertx;
    this.encoder = encoder;
    this.maxInFlight = maxInFlight;
    this.maxQueued = maxQueued;
    this.peer = peer;
  }

  /** Where commands (and descriptors) are written from now on (the current socket). */
  void attach(Consumer<Buffer> writer, FdWriter fdWriter) {
    this.writer = writer;
    this.fdWriter = fdWriter;
  }

  int inFlight() {
    return inFlightCount;
  }

  int queued() {
    return queuedCount;
  }

  private void publishCounts() {
    inFlightCount = inFlight.size();
    queuedCount = waiting.size();
  }

  <T> void submit(PendingCommand<T> cmd, Duration timeout) {
    boolean now = cmd.oob || (waiting.isEmpty() && sendable(cmd));
    if (!now && waiting.size() >= maxQueued) {
      cmd.fail(new QmpQueueFullException(cmd.name(), maxQueued));
      return;
    }
    cmd.timerId = vertx.setTimer(Timers.delayMs(timeout), t -> expire(cmd, timeout));
    if (now) {
      send(cmd);
    } else {
      waiting.add(cmd);
      publishCounts();
    }
  }

  private boolean sendable(PendingCommand<?> cmd) {
    return cmd.fds.isEmpty() ? inBandOrder.size() < maxInFlight : inFlight.isEmpty();
  }

  void onReply(QmpMessage message) {
    JsonNode id = message instanceof QmpMessage.Return r ? r.id() : ((QmpMessage.Error) message).id();
    PendingCommand<?> cmd;
    if (id == null) {
      // QMP answers a request it could not parse with an error without id. Every request this
      // client sends has an id, and QEMU answers in-band requests in order: it is the oldest.
      cmd = inBandOrder.peekFirst();
      LOG.warn("QMP {}: reply without id, matched to the oldest in-flight command {}", peer,
          cmd == null ? "(none: dropped)" : cmd.name());
      if (cmd == null) {
        return;
      }
    } else {
      cmd = id.canConvertToLong() ? inFlight.get(id.asLong()) : null;
      if (cmd == null) {
        LOG.warn("QMP {}: dropped a reply with unknown id {}", peer, id);
        return;
      }
    }
    release(cmd);
    if (cmd.abandoned) {
      LOG.info("QMP {}: late reply to '{}' (id {}) dropped: its caller timed out", peer, cmd.name(), cmd.id);
    } else if (message instanceof QmpMessage.Return r) {
      cmd.succeed(r.value());
    } else {
      QmpMessage.Error e = (QmpMessage.Error) message;
      cmd.fail(e.errorClass(), e.description());
    }
    pump();
  }

  /**
   * Fails every in-flight command with {@code sentCause} and every waiting one (never sent) with
   * {@code queuedCause}; the pipeline is empty afterwards.
   */
  void failAll(Throwable sentCause, Throwable queuedCause) {
    List<PendingCommand<?>> sent = new ArrayList<>(inFlight.values());
    List<PendingCommand<?>> queued = new ArrayList<>(waiting);
    inFlight.clear();
    inBandOrder.clear();
    waiting.clear();
    publishCounts();
    for (PendingCommand<?> cmd : sent) {
      vertx.cancelTimer(cmd.timerId);
      cmd.fail(sentCause);
    }
    for (PendingCommand<?> cmd : queued) {
      vertx.cancelTimer(cmd.timerId);
      cmd.fail(queuedCause);
    }
  }

  private void send(PendingCommand<?> cmd) {
    if (!cmd.fds.isEmpty()) {
      try {
        fdWriter.send(descriptors(cmd));
      } catch (QmpFdPassingException e) {
        vertx.cancelTimer(cmd.timerId);
        publishCounts();
        cmd.fail(e);
        return;
      }
    }
    cmd.id = nextId++;
    inFlight.put(cmd.id, cmd);
    if (!cmd.oob) {
      inBandOrder.addLast(cmd);
    }
    publishCounts();
    writer.accept(encoder.encode(cmd.name(), cmd.arguments(), cmd.id, cmd.oob));
  }

  private void release(PendingCommand<?> cmd) {
    inFlight.remove(cmd.id);
    if (!cmd.oob) {
      inBandOrder.remove(cmd);
    }
    publishCounts();
    vertx.cancelTimer(cmd.timerId);
  }

  private static int[] descriptors(PendingCommand<?> cmd) {
    int[] fds = new int[cmd.fds.size()];
    for (int i = 0; i < fds.length; i++) {
      UnixFd fd = cmd.fds.get(i);
      if (!fd.isOpen()) {
        throw new QmpFdPassingException("'" + cmd.name() + "' was not sent: " + fd
            + " was closed before it could be passed; keep it open until the command completes");
      }
      fds[i] = fd.intValue();
    }
    return fds;
  }

  private void pump() {
    while (!waiting.isEmpty() && sendable(waiting.peekFirst())) {
      send(waiting.pollFirst());
    }
  }

  private void expire(PendingCommand<?> cmd, Duration timeout) {
    boolean waited = cmd.id < 0;
    if (waited) {
      removeWaiting(cmd);
    } else {
      // QEMU still holds it: keep its slot so that QEMU's queue is never overrun.
      cmd.abandoned = true;
    }
    cmd.fail(new QmpTimeoutException(cmd.name(), timeout));
    if (waited) {
      // It may have held back the commands behind it (descriptors wait for an empty pipeline).
      pump();
    }
  }

  private void removeWaiting(PendingCommand<?> cmd) {
    for (Iterator<PendingCommand<?>> it = waiting.iterator(); it.hasNext(); ) {
      if (it.next() == cmd) {
        it.remove();
        publishCounts();
        return;
      }
    }
  }
}
