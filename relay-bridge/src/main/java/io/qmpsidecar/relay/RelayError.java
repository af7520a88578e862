package io.qmpsidecar.relay;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A JSON-RPC error as sent on the wire.
 *
 * @param code the error code
 * @param message one line saying what happened and what to do
 * @param data structured details (QEMU's class and desc, the policy rule, ...), never null
 */
public record RelayError(ErrorCode code, String message, Map<String, Object> data) {

  public RelayError {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
    data = data == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(data));
  }

  public static RelayError of(ErrorCode code, String message) {
    return new RelayError(code, message, Map.of());
  }

  /** QEMU refused a command: keeps QEMU's error class and description. */
  public static RelayError qemuError(String qmpClass, String desc) {
    return new RelayError(ErrorCode.QEMU_ERROR, "QEMU refused the command: " + desc,
        Map.of("class", qmpClass, "desc", desc));
  }

  /** The policy engine denied the request. */
  public static RelayError policyDenied(String ruleId, String reason) {
    return new RelayError(ErrorCode.POLICY_DENIED, "denied by policy rule " + ruleId + ": " + reason,
        Map.of("rule", ruleId, "reason", reason));
  }

  /** A rate limit refused the request for now: retry the same request after {@code retryAfter}. */
  public static RelayError throttled(String ruleId, String reason, Duration retryAfter) {
    return new RelayError(ErrorCode.TOO_MANY_REQUESTS, "throttled by policy rule " + ruleId + ": " + reason
        + "; retry the same request after " + retryAfter.toMillis() + " ms",
        Map.of("rule", ruleId, "reason", reason, "retryAfterMs", retryAfter.toMillis()));
  }

  /** Turns this error into the exception a future fails with. */
  public RelayErrorException toException() {
    return new RelayErrorException(this);
  }
}
