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
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one DPU request: policy check with caller {@code dpu} first, then parameter checks, then
 * the executor (through the {@link OpLedger} for operations with an opId), with a timeout.
 * The returned future never fails: every failure is an {@link Outcome} with an error.
 */
final class RequestDispatcher {

  private static final Logger log = LoggerFactory.getLogger(RequestDispatcher.class);
  /** Longest opId accepted; keeps the idempotency table's rows small. */
  static final int MAX_OP_ID_CHARS = 128;

  private final Vertx vertx;
  private final RequestExecutor executor;
  private final RequestAuthorizer authorizer;
  private final OpLedger ledger;
  private final Duration timeout;

  RequestDispatcher(Vertx vertx, RequestExecutor executor, RequestAuthorizer authorizer, OpLedger ledger,
      Duration timeout) {
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
    switch (method) {
      case RelayMethods.DEVICE_ATTACH, RelayMethods.DEVICE_DETACH, RelayMethods.DEVICE_LIST,
          RelayMethods.VM_LIST, RelayMethods.STATE_SNAPSHOT -> { }
      default -> {
        return Future.succeededFuture(Outcome.failure(RelayError.of(ErrorCode.METHOD_NOT_FOUND, "method " + method
            + " does not exist for the DPU; see docs/relay-protocol.md for the methods a DPU may call")));
      }
    }
    Map<String, Object> args = JsonRpcCodec.toMap(params);
    AuthorizationDecision decision = authorizer.authorize(RequestAuthorizer.CALLER_DPU, method, args);
    if (!decision.allowed()) {
      log.info("denied {} from the DPU by rule {}: {}", method, decision.ruleId(), decision.reason());
      return Future.succeededFuture(Outcome.failure(RelayError.policyDenied(decision.ruleId(), decision.reason())));
    }
    return switch (method) {
      case RelayMethods.DEVICE_ATTACH -> {
        DeviceAttachParams r = new DeviceAttachParams(text(params, "opId", true), text(params, "vm", true),
            text(params, "bdf", true), text(params, "deviceId", false));
        yield ledger.run(opId(r.opId()), method, canonical(r), () -> timed(method, executor.attach(r)));
      }
      case RelayMethods.DEVICE_DETACH -> {
        DeviceDetachParams r = new DeviceDetachParams(text(params, "opId", true), text(params, "vm", true),
            text(params, "deviceId", true));
        yield ledger.run(opId(r.opId()), method, canonical(r), () -> timed(method, executor.detach(r)));
      }
      case RelayMethods.DEVICE_LIST -> timed(method,
          executor.listDevices(text(params, "vm", false)).map(d -> Map.of("devices", d)));
      case RelayMethods.VM_LIST -> timed(method, executor.listVms().map(v -> Map.of("vms", v)));
      default -> timed(method, executor.snapshot());
    };
  }

  private Future<Outcome> timed(String method, Future<?> work) {
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

  private static String text(JsonNode params, String name, boolean required) {
    JsonNode v = params.get(name);
    if (v == null || v.isNull()) {
      if (required) {
        throw invalid("parameter \"" + name + "\" is missing");
      }
      return null;
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      throw invalid("parameter \"" + name + "\" must be a non-empty string");
    }
    return v.asText();
  }

  private static String opId(String opId) {
    if (opId.length() > MAX_OP_ID_CHARS) {
      throw invalid("opId has " + opId.length() + " characters, more than " + MAX_OP_ID_CHARS);
    }
    return opId;
  }

  private static String canonical(Record request) {
    try {
      return JsonRpcCodec.MAPPER.writeValueAsString(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("request record cannot be written as JSON", e);
    }
  }

  private static RelayErrorException invalid(String message) {
    return new RelayErrorException(RelayError.of(ErrorCode.INVALID_PARAMS, message
        + "; see docs/relay-protocol.md for the method's parameters"));
  }
}
