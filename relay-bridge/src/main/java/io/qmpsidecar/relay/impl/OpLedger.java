package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.impl.store.OpStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Idempotency by opId: a repeat joins the running operation or gets the stored outcome, also after
 * a restart; an opId reused with other parameters is refused. A row is stored before the operation
 * runs, so an operation cut short by a crash is found at the next start and resumed (see
 * {@link OpResumer}) rather than run twice; while that runs, a repeat is told the operation is
 * being reconciled. Runs on the host's context only.
 */
final class OpLedger {

  private static final Logger log = LoggerFactory.getLogger(OpLedger.class);

  private record Running(String method, String params, Future<Outcome> outcome) {}

  private final OpStore store;
  private final Map<String, Running> running = new HashMap<>();
  private final Map<String, OpStore.Op> resuming = new HashMap<>();

  OpLedger(OpStore store) {
    this.store = store;
  }

  OpStore store() {
    return store;
  }

  /** From now until {@link #resumed}, repeats of {@code opId} are answered OP_INTERRUPTED. */
  void resuming(String opId, OpStore.Op op) {
    resuming.put(opId, op);
  }

  /** The resumed operation's end and outcome are stored: repeats get the stored outcome again. */
  void resumed(String opId) {
    resuming.remove(opId);
  }

  /**
   * @param params the request's canonical JSON, compared on repeats
   * @param action runs the operation; its future never fails (failures are outcomes)
   * @return completes with the outcome to answer with; fails only when the store failed before the
   *     operation ran
   */
  Future<Outcome> run(String opId, String method, String params, Supplier<Future<Outcome>> action) {
    OpStore.Op interrupted = resuming.get(opId);
    if (interrupted != null) {
      return Future.succeededFuture(interrupted.method().equals(method) && interrupted.params().equals(params)
          ? Outcome.failure(new RelayError(ErrorCode.OP_INTERRUPTED, "operation " + opId + " was cut short by a"
              + " sidecar restart and the host is reconciling it with QEMU now; its op.completed or op.failed"
              + " follows, then a repeat gets its answer", Map.of("opId", opId)))
          : conflict(opId));
    }
    Running current = running.get(opId);
    if (current != null) {
      return current.method().equals(method) && current.params().equals(params) ? current.outcome()
          : Future.succeededFuture(conflict(opId));
    }
    Promise<Outcome> promise = Promise.promise();
    running.put(opId, new Running(method, params, promise.future()));
    store.find(opId).compose(found -> {
      if (found.isEmpty()) {
        return store.started(opId, method, params).compose(v -> action.get()).compose(outcome ->
            (decidedAfresh(outcome) ? store.forgotten(opId) : store.finished(opId, outcome.toJson()))
                .map(outcome).recover(e -> {
              log.error("could not store the outcome of opId {}; a repeat will be reported as interrupted", opId, e);
              return Future.succeededFuture(outcome);
            }));
      }
      OpStore.Op op = found.get();
      if (!op.method().equals(method) || !op.params().equals(params)) {
        return Future.succeededFuture(conflict(opId));
      }
      if (op.outcome() == null) {
        return Future.succeededFuture(Outcome.failure(new RelayError(ErrorCode.OP_INTERRUPTED,
            "operation " + opId + " has no stored answer (the store failed to record it); check device.list,"
                + " then retry with a new opId", Map.of("opId", opId))));
      }
      try {
        return Future.succeededFuture(Outcome.fromJson(op.outcome()));
      } catch (Exception e) {
        return Future.failedFuture(e);
      }
    }).onComplete(ar -> {
      running.remove(opId);
      promise.handle(ar);
    });
    return promise.future();
  }

  /**
   * A refusal of the policy that the executor made (it decides with facts the authorizer lacks):
   * nothing ran, so like a refusal of the authorizer it is not recorded.
   */
  private static boolean decidedAfresh(Outcome outcome) {
    return outcome.error() != null && (outcome.error().code() == ErrorCode.POLICY_DENIED
        || outcome.error().code() == ErrorCode.TOO_MANY_REQUESTS);
  }

  private static Outcome conflict(String opId) {
    return Outcome.failure(new RelayError(ErrorCode.OP_ID_CONFLICT, "opId " + opId
        + " was already used with other parameters; use a new opId for a different request", Map.of("opId", opId)));
  }
}
