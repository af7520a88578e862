package io.qmpsidecar.relay.conformance;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/** JSON-RPC messages of the relay protocol written by hand, and the waits of the wire tests. */
public final class Wire {

  public static final String PING = "relay.ping";
  public static final Duration WAIT = WireLink.WAIT;

  private Wire() {}

  public static JsonObject request(Object id, String method, JsonObject params) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id).put("method", method).put("params", params);
  }

  public static JsonObject notification(String method, JsonObject params) {
    return new JsonObject().put("jsonrpc", "2.0").put("method", method).put("params", params);
  }

  public static JsonObject result(Object id, JsonObject result) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id).put("result", result);
  }

  public static JsonObject error(Object id, int code, String message, JsonObject data) {
    JsonObject e = new JsonObject().put("code", code).put("message", message);
    if (data != null) {
      e.put("data", data);
    }
    return new JsonObject().put("jsonrpc", "2.0").put("id", id).put("error", e);
  }

  /** The DPU's answer to a hello: protocol 1, this dpuId, and the last seq it processed. */
  public static JsonObject helloAnswer(Object id, String dpuId, long lastAcked) {
    return result(id, new JsonObject().put("version", 1).put("dpuId", dpuId).put("epoch", 1)
        .put("lastAcked", lastAcked).put("capabilities", new JsonArray().add("snapshot")));
  }

  /** A host's hello. */
  public static JsonObject hello(Object id, String hostId, long epoch, long lastSeq) {
    return request(id, "relay.hello", new JsonObject().put("versions", new JsonArray().add(1))
        .put("hostId", hostId).put("epoch", epoch).put("lastSeq", lastSeq).put("lastAcked", 0)
        .put("firstRetained", 1).put("capabilities", new JsonArray().add("opId").add("snapshot")));
  }

  public static JsonObject ack(long seq) {
    return notification("relay.ack", new JsonObject().put("seq", seq));
  }

  /** The error code of an answer, failing the test when it is a result. */
  public static int errorCode(JsonObject answer) {
    if (!answer.containsKey("error")) {
      throw new AssertionError("expected an error but got " + answer.encode());
    }
    return answer.getJsonObject("error").getInteger("code");
  }

  /** The result of an answer, failing the test when it is an error. */
  public static JsonObject resultOf(JsonObject answer) {
    if (!answer.containsKey("result")) {
      throw new AssertionError("expected a result but got " + answer.encode());
    }
    return answer.getJsonObject("result");
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("failed: " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (TimeoutException e) {
      throw new AssertionError("no completion within " + WAIT.toSeconds() + " s", e);
    }
  }

  /** Polls every 10 ms until true; fails the test after {@code wait}. */
  public static void until(String what, Duration wait, BooleanSupplier condition) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + wait.toMillis() + " ms waiting for " + what);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what, e);
      }
    }
  }
}
