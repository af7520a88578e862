package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayProtocolException;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.RpcMessage;
import io.qmpsidecar.relay.impl.store.OutboxStore.Entry;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of the host to the DPU: the hello, then the notification stream resumed after
 * the DPU's last ack (from the cache, the store, or a snapshot when the gap is no longer
 * retained), acks, and the DPU's requests. Runs on the host's context only.
 */
final class HostSession implements RpcPeer.Inbound {

  private static final Logger log = LoggerFactory.getLogger(HostSession.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int REPLAY_BATCH = 1024;

  /** The DPU's hello answer, as far as the host uses it. */
  record DpuHello(int version, String dpuId, long lastAcked) {}

  private enum State { HELLO, SNAPSHOT, STREAMING, CLOSED }

  private final RpcPeer peer;
  private final Outbox outbox;
  private final RequestDispatcher dispatcher;
  private final RequestExecutor executor;
  private final Map<String, Object> hello;
  private final Consumer<DpuHello> onUp;
  private final Consumer<Throwable> onDown;
  private State state = State.HELLO;
  private long nextToSend;
  private boolean reading;
  /**
   * The opIds of requests whose answer is not written yet, and how many of them: an operation's
   * notifications wait until its answer is out (docs/relay-protocol.md, Operations), and those
   * after them in the stream wait with them.
   */
  private final Map<String, Integer> answering = new HashMap<>();

  HostSession(RpcPeer peer, Outbox outbox, RequestDispatcher dispatcher, RequestExecutor executor,
      Map<String, Object> hello, Consumer<DpuHello> onUp, Consumer<Throwable> onDown) {
    this.peer = peer;
    this.outbox = outbox;
    this.dispatcher = dispatcher;
    this.executor = executor;
    this.hello = hello;
    this.onUp = onUp;
    this.onDown = onDown;
  }

  void start() {
    peer.start(this);
    Map<String, Object> params = new LinkedHashMap<>(hello);
    params.put("lastSeq", outbox.issuedUpTo());
    params.put("lastAcked", outbox.acked());
    params.put("firstRetained", outbox.firstRetained());
    peer.request(RelayMethods.HELLO, params).onComplete(ar -> {
      if (ar.failed()) {
        peer.close("relay.hello failed: " + ar.cause().getMessage());
        return;
      }
      try {
        helloAnswered(parseHello(ar.result()));
      } catch (RelayProtocolException e) {
        peer.close(e.getMessage());
      }
    });
  }

  /** Notifications became sendable. */
  void sendable() {
    pump();
  }

  void close(String reason) {
    peer.close(reason);
  }

  private void helloAnswered(DpuHello dpu) {
    if (state != State.HELLO) {
      return;
    }
    onUp.accept(dpu);
    long dpuAcked = dpu.lastAcked();
    if (dpuAcked > outbox.issuedUpTo()) {
      log.warn("DPU {} acked seq {} but this store only issued up to {}: the store was reset;"
          + " numbering continues after {} and the DPU gets a state.snapshot numbered {}", dpu.dpuId(), dpuAcked,
          outbox.issuedUpTo(), dpuAcked, dpuAcked + 1);
      state = State.SNAPSHOT;
      outbox.reserveAfter(dpuAcked).onComplete(ar -> {
        if (ar.failed()) {
          peer.close("could not move the outbox past the DPU's last ack: " + ar.cause().getMessage());
        } else {
          sendSnapshot(ar.result());
        }
      });
      return;
    }
    outbox.ack(dpuAcked);
    nextToSend = dpuAcked + 1;
    state = State.STREAMING;
    pump();
  }

  private void pump() {
    if (state != State.STREAMING || reading) {
      return;
    }
    while (nextToSend <= outbox.sendableUpTo()) {
      if (peer.writeQueueFull()) {
        peer.drainHandler(v -> pump());
        return;
      }
      if (nextToSend < outbox.firstRetained()) {
        sendSnapshot(outbox.firstRetained() - 1);
        return;
      }
      Entry e = outbox.entry(nextToSend);
      if (e == null) {
        replayFromStore();
        return;
      }
      if (!answering.isEmpty() && answering.containsKey(opIdOf(e.text()))) {
        return;
      }
      peer.write(e.text());
      nextToSend++;
    }
  }

  /** The {@code opId} in a notification's params, or null. */
  private static String opIdOf(String notification) {
    try {
      JsonNode opId = JSON.readTree(notification).path("params").get("opId");
      return opId != null && opId.isTextual() ? opId.textValue() : null;
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private void replayFromStore() {
    reading = true;
    outbox.read(nextToSend, REPLAY_BATCH).onComplete(ar -> {
      reading = false;
      if (state != State.STREAMING) {
        return;
      }
      if (ar.failed()) {
        peer.close("could not read the outbox for replay: " + ar.cause().getMessage());
        return;
      }
      List<Entry> entries = ar.result();
      if (entries.isEmpty() || entries.get(0).seq() > nextToSend) {
        sendSnapshot(entries.isEmpty() ? outbox.storedUpTo() : entries.get(0).seq() - 1);
        return;
      }
      for (Entry e : entries) {
        if (e.seq() != nextToSend) {
          break;
        }
        peer.write(e.text());
        nextToSend++;
      }
      pump();
    });
  }

  /**
   * Sends a state.snapshot numbered {@code covers}, the last seq it replaces: entries the DPU
   * needs are no longer retained, were skipped after a crash (numbers that may have been sent but
   * were not stored), or a number was reserved for it. It is always above the DPU's lastAcked, so
   * the DPU applies it, and built after everything up to it, so it reflects those entries.
   */
  private void sendSnapshot(long covers) {
    state = State.SNAPSHOT;
    executor.snapshot().onComplete(ar -> {
      if (state != State.SNAPSHOT) {
        return;
      }
      if (ar.failed()) {
        peer.close("the sidecar could not build the state snapshot the DPU needs: " + ar.cause().getMessage());
        return;
      }
      StateSnapshot s = ar.result();
      Map<String, Object> params = new LinkedHashMap<>();
      params.put("vms", s.vms());
      params.put("devices", s.devices());
      String text = JsonRpcCodec.sequencedNotification(RelayMethods.STATE_SNAPSHOT, covers, params);
      if (peer.tooLarge(text)) {
        int bytes = text.getBytes(StandardCharsets.UTF_8).length;
        log.error("the state snapshot the DPU needs ({} VMs, {} devices) is {} bytes, over maxMessageBytes ({});"
            + " the DPU would drop it, so the link is closed instead, and will be at each redial: raise"
            + " maxMessageBytes on both ends above {}", s.vms().size(), s.devices().size(), bytes,
            peer.maxMessageBytes(), bytes);
        peer.close("state snapshot of " + bytes + " bytes exceeds maxMessageBytes; raise it on both ends");
        return;
      }
      log.info("DPU missed notifications this host no longer has; sent a state snapshot covering seq {}", covers);
      peer.write(text);
      nextToSend = covers + 1;
      state = State.STREAMING;
      pump();
    });
  }

  @Override
  public void request(RpcMessage.Request request) {
    if (state == State.HELLO) {
      peer.respondError(request.id(), RelayError.of(ErrorCode.NOT_READY,
          "the host has not finished relay.hello; send requests after answering it"));
      return;
    }
    JsonNode opIdNode = request.params() == null ? null : request.params().get("opId");
    String opId = opIdNode != null && opIdNode.isTextual() ? opIdNode.textValue() : null;
    if (opId != null) {
      answering.merge(opId, 1, Integer::sum);
    }
    dispatcher.dispatch(request.method(), request.params()).onComplete(ar -> {
      Outcome o = ar.succeeded() ? ar.result() : Outcome.failure(RelayError.of(
          ErrorCode.INTERNAL_ERROR, request.method() + " could not be recorded: "
              + ar.cause().getMessage() + "; it did not run, retry with the same opId"));
      if (o.error() != null) {
        peer.respondError(request.id(), o.error());
      } else {
        peer.respond(request.id(), o.result());
      }
      if (opId != null) {
        answering.computeIfPresent(opId, (k, n) -> n > 1 ? n - 1 : null);
        pump();
      }
    });
  }

  @Override
  public void notification(RpcMessage.Notification notification) {
    if (!RelayMethods.ACK.equals(notification.method())) {
      log.debug("ignoring notification {} from the DPU", notification.method());
      return;
    }
    JsonNode seq = notification.params().get("seq");
    if (seq == null || !seq.canConvertToLong()) {
      log.warn("DPU sent relay.ack without an integer seq; ignored");
      return;
    }
    long acked = seq.asLong();
    if (acked >= nextToSend && state == State.STREAMING) {
      log.warn("DPU acked seq {} which was not sent yet (next is {}); ignored", acked, nextToSend);
      return;
    }
    outbox.ack(acked);
  }

  @Override
  public void closed(Throwable cause) {
    state = State.CLOSED;
    onDown.accept(cause);
  }

  private static DpuHello parseHello(JsonNode r) {
    int version = r.path("version").asInt(-1);
    if (version != RelayMethods.PROTOCOL_VERSION) {
      throw new RelayProtocolException("the DPU chose protocol version " + r.path("version")
          + " but this host speaks only " + RelayMethods.PROTOCOL_VERSION + "; upgrade one of the ends");
    }
    JsonNode acked = r.get("lastAcked");
    if (acked == null || !acked.canConvertToLong() || acked.asLong() < 0) {
      throw new RelayProtocolException("the DPU's relay.hello answer has no valid lastAcked; fix the DPU agent");
    }
    return new DpuHello(version, r.path("dpuId").asText("unknown"), acked.asLong());
  }
}
