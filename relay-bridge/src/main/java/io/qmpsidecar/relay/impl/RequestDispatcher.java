package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestAuthorizer;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one DPU request: its params bound strictly first (INVALID_PARAMS naming the member), then
 * the policy check with caller {@code dpu} (denied, or throttled with a retry time), then the
 * executor (through the {@link OpLedger} for operations with an opId), with a timeout.
 * The returned future never fails: every failure is an {@link Outcome} with an error.
 */
final class RequestDispatcher {

  private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);

  private final Vertx vertx;
  private final RequestExecutor executor;
  private final RequestAuthorizer authorizer;
  private final OpLedger ledger;
  private final Duration timeout;
  private final LongSupplier lastSeq;

  /** @param lastSeq the last notification seq stored, which a state.snapshot answer reports */
  RequestDispatcher(Vertx vertx, RequestExecutor executor, RequestAuthorizer authorizer, OpLedger ledger,
      Duration timeout, LongSupplier lastSeq) {
    this.lastSeq = lastSeq;
    this.vertx = vertx;
    this.executor = executor;
    this.authorizer = authorizer;
    this.ledger = ledger;
    this.timeout = timeout;
  }

  Future<Outcome> dispatch(String method, JsonNode params) {
    try {
      return route(method, params).recover(e -> Future.succeededFuture(toOutcome(method, e)));
    } catch (RuntimeException e) {
      return Future.succeededFuture(toOutcome(method, e));
    }
  }

  private Future<Outcome> route(String method, JsonNode params) {
    Record bound;
    switch (method) {
      case RelayMethods.DEVICE_ATTACH -> bound = ParamsBinder.attach(params);
      case RelayMethods.DEVICE_DETACH -> bound = ParamsBinder.detach(params);
      case RelayMethods.DEVICE_LIST -> bound = new ListParams(ParamsBinder.listVm(params));
      case RelayMethods.VM_LIST, RelayMethods.STATE_SNAPSHOT -> bound = new NoParams();
      default -> {
        return Future.succeededFuture(Outcome.failure(RelayError.of(ErrorCode.METHOD_NOT_FOUND, "method " + method
            + " does not exist for the DPU; see docs/relay-protocol.md for the methods a DPU may call")));
      }
    }
    AuthorizationDecision decision = authorizer.authorize(RequestAuthorizer.CALLER_DPU, method, asMap(bound));
    if (decision.throttled()) {
      log.info("throttled {} from the DPU by rule {} for {} ms: {}", method, decision.ruleId(),
          decision.retryAfter().toMillis(), decision.reason());
      return Future.succeededFuture(Outcome.failure(RelayError.throttled(decision.ruleId(), decision.reason(),
          decision.retryAfter())));
    }
    if (!decision.allowed()) {
      log.info("denied {} from the DPU by rule {}: {}", method, decision.ruleId(), decision.reason());
      return Future.succeededFuture(Outcome.failure(RelayError.policyDenied(decision.ruleId(), decision.reason())));
    }
    if (bound instanceof DeviceAttachParams r) {
      return ledger.run(r.opId(), method, canonical(r), () -> timed(method, () -> executor.attach(r)));
    }
    if (bound instanceof DeviceDetachParams r) {
      return ledger.run(r.opId(), method, canonical(r), () -> timed(method, () -> executor.detach(r)));
    }
    if (bound instanceof ListParams l) {
      return timed(method, () -> executor.listDevices(l.vm()).map(d -> Map.of("devices", d)));
    }
    if (RelayMethods.VM_LIST.equals(method)) {
      return timed(method, () -> executor.listVms().map(v -> Map.of("vms", v)));
    }
    long reflected = lastSeq.getAsLong();
    return timed(method, () -> executor.snapshot().map(snapshot -> Map.of("vms", snapshot.vms(),
        "devices", snapshot.devices(), "seq", reflected)));
  }

  /** {@code device.list}'s params: the VM, or null for all. */
  private record ListParams(String vm) {}

  /** The params of a method that takes none. */
  private record NoParams() {}

  /** The bound params as the policy sees them: only the members the method defines, nulls left out. */
  private static Map<String, Object> asMap(Record bound) {
    Map<String, Object> map = new LinkedHashMap<>();
    JsonRpcCodec.MAPPER.valueToTree(bound).fields().forEachRemaining(e -> {
      if (!e.getValue().isNull()) {
        map.put(e.getKey(), e.getValue().asText());
      }
    });
    return map;
  }

  /**
   * Runs one executor call with the executor timeout. Never fails: a call that throws instead of
   * failing its future is an INTERNAL_ERROR outcome like any other failure, so it is stored.
   */
  private Future<Outcome> timed(String method, Supplier<Future<?>> call) {
    Future<?> work;
    try {
      work = call.get();
    } catch (RuntimeException e) {
      work = Future.failedFuture(e);
    }
    Promise<Outcome> promise = Promise.promise();
    long timer = vertx.setTimer(timeout.toMillis(), t -> promise.tryComplete(Outcome.failure(RelayError.of(
        ErrorCode.INTERNAL_ERROR, "the sidecar did not answer " + method + " within " + timeout.toMillis()
            + " ms; its outcome is unknown, check device.list before retrying"))));
    work.onComplete(ar -> {
      vertx.cancelTimer(timer);
      promise.tryComplete(ar.succeeded() ? Outcome.success(ar.result()) : toOutcome(method, ar.cause()));
    });
    return promise.future();
  }

  private static Outcome toOutcome(String method, Throwable e) {
    if (e instanceof RelayErrorException r) {
      return Outcome.failure(r.error());
    }
    log.error("{} failed inside the sidecar", method, e);
    return Outcome.failure(RelayError.of(ErrorCode.INTERNAL_ERROR, method + " failed inside the sidecar: "
        + e.getMessage() + "; see the sidecar's log"));
  }

  private static String canonical(Record request) {
    try {
      return JsonRpcCodec.MAPPER.writeValueAsString(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("request record cannot be written as JSON", e);
    }
  }
}
