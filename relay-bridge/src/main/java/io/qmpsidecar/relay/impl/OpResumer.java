package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.store.OpStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At start, ends every operation an earlier run of the host left unfinished: asks the executor
 * how it ended ({@link RequestExecutor#resume}), stores the answer a repeat gets (when the first
 * request got none), then stores and sends the end. One at a time, each within the executor
 * timeout. Runs on the host's context only.
 */
final class OpResumer {

  private static final Logger log = LoggerFactory.getLogger(OpResumer.class);

  /** Sends an operation's end through the outbox; completes once it is stored. */
  interface EndSink {
    Future<Long> send(String opId, OpEnd end);
  }

  private final Vertx vertx;
  private final RequestExecutor executor;
  private final OpLedger ledger;
  private final Duration timeout;
  private final EndSink sink;

  OpResumer(Vertx vertx, RequestExecutor executor, OpLedger ledger, Duration timeout, EndSink sink) {
    this.vertx = vertx;
    this.executor = executor;
    this.ledger = ledger;
    this.timeout = timeout;
    this.sink = sink;
  }

  /** Marks every operation as being resumed (repeats get OP_INTERRUPTED), then resumes them in order. */
  Future<Void> resumeAll(List<OpStore.Unfinished> unfinished) {
    if (unfinished.isEmpty()) {
      return Future.succeededFuture();
    }
    log.info("{} operation(s) were cut short by the last stop of the host; reconciling them", unfinished.size());
    unfinished.forEach(u -> ledger.resuming(u.opId(), u.op()));
    Future<Void> chain = Future.succeededFuture();
    for (OpStore.Unfinished u : unfinished) {
      chain = chain.eventually(() -> resume(u));
    }
    return chain;
  }

  private Future<Void> resume(OpStore.Unfinished u) {
    UnfinishedOp op;
    try {
      op = toUnfinishedOp(u);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      return finish(u, OpEnd.failed(unknown(u.opId(), "its stored request cannot be read: " + e.getMessage())));
    }
    Promise<OpEnd> end = Promise.promise();
    long timer = vertx.setTimer(timeout.toMillis(), t -> end.tryComplete(OpEnd.failed(unknown(u.opId(),
        "the sidecar did not reconcile it within " + timeout.toMillis() + " ms"))));
    Future<OpEnd> work;
    try {
      work = executor.resume(op);
    } catch (RuntimeException e) {
      work = Future.failedFuture(e);
    }
    work.onComplete(ar -> {
      vertx.cancelTimer(timer);
      end.tryComplete(ar.succeeded() && ar.result() != null ? ar.result()
          : OpEnd.failed(unknown(u.opId(), "the sidecar could not reconcile it: "
              + (ar.failed() ? ar.cause().getMessage() : "no end given"))));
    });
    return end.future().compose(e -> finish(u, e));
  }

  /** Stores the answer a repeat gets (when there was none), then the end; then repeats see them. */
  private Future<Void> finish(OpStore.Unfinished u, OpEnd end) {
    Future<Void> answer = Future.succeededFuture();
    if (u.op().outcome() == null) {
      Outcome outcome = end.result() != null
          ? Outcome.success(new OpAccepted(u.opId(), end.result().vm(), end.result().deviceId()))
          : Outcome.failure(end.error());
      answer = ledger.store().finishedIfNone(u.opId(), outcome.toJson());
    }
    log.info("operation {} cut short by the last stop ended: {}", u.opId(),
        end.result() != null ? end.result().outcome().wireName() : end.error().message());
    return answer.compose(v -> sink.send(u.opId(), end)).<Void>mapEmpty()
        .onFailure(e -> log.error("could not store the end of operation {}; it is reconciled again at the next"
            + " start", u.opId(), e))
        .eventually(() -> {
          ledger.resumed(u.opId());
          return Future.succeededFuture();
        });
  }

  private static UnfinishedOp toUnfinishedOp(OpStore.Unfinished u) throws JsonProcessingException {
    Record params = RelayMethods.DEVICE_ATTACH.equals(u.op().method())
        ? JsonRpcCodec.MAPPER.readValue(u.op().params(), DeviceAttachParams.class)
        : JsonRpcCodec.MAPPER.readValue(u.op().params(), DeviceDetachParams.class);
    OpAccepted accepted = null;
    if (u.op().outcome() != null) {
      JsonNode result = JsonRpcCodec.MAPPER.readTree(u.op().outcome()).get("result");
      accepted = JsonRpcCodec.MAPPER.treeToValue(result, OpAccepted.class);
    }
    return new UnfinishedOp(u.opId(), u.op().method(), params, accepted);
  }

  private static RelayError unknown(String opId, String why) {
    return new RelayError(ErrorCode.OP_INTERRUPTED, "operation " + opId + " was cut short by a sidecar restart and"
        + " " + why + "; its outcome is unknown: check device.list, then retry with a new opId", Map.of("opId", opId));
  }
}
