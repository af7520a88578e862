package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/** A failure as the DPU hears it: the relay protocol's error code and data for each kind, one switch. */
final class RelayErrors {
  private RelayErrors() {}

  static RelayError of(Throwable failure) {
    SidecarException e = SidecarException.from(failure);
    if (e.kind() == SidecarException.Kind.THROTTLED) {
      return RelayError.throttled(text(e.detail("rule"), "rate-limit"), text(e.detail("reason"), e.getMessage()),
          Duration.ofMillis(e.detail("retryAfterMs") instanceof Number n ? n.longValue() : 1000));
    }
    if (e.kind() == SidecarException.Kind.DENIED && e.detail("rule") != null) {
      return RelayError.policyDenied(text(e.detail("rule"), ""), text(e.detail("reason"), e.getMessage()));
    }
    ErrorCode code = switch (e.kind()) {
      case INVALID -> ErrorCode.INVALID_PARAMS;
      case DENIED -> ErrorCode.POLICY_DENIED;
      case THROTTLED, BUSY -> ErrorCode.TOO_MANY_REQUESTS;
      case NOT_FOUND -> ErrorCode.NOT_FOUND;
      case MIGRATING -> ErrorCode.BUSY_MIGRATING;
      case MIGRATION_BLOCKED -> ErrorCode.MIGRATION_BLOCKED;
      case HOST_PREREQUISITE -> ErrorCode.HOST_PREREQUISITE;
      case QEMU_ERROR -> ErrorCode.QEMU_ERROR;
      case GUEST_TIMEOUT -> ErrorCode.GUEST_UNPLUG_TIMEOUT;
      case CONFLICT, CONFIGURATION, UNAVAILABLE, TIMEOUT, PROTOCOL, FAILED, INTERNAL -> ErrorCode.INTERNAL_ERROR;
    };
    Map<String, Object> data = new LinkedHashMap<>();
    if (e.detail("qemu") instanceof Map<?, ?> q) {
      q.forEach((k, v) -> data.put(String.valueOf(k), v));
    }
    e.details().forEach((k, v) -> {
      if (!k.equals("qemu")) {
        data.put(k, v);
      }
    });
    if (e.vm() != null && (code == ErrorCode.NOT_FOUND || code == ErrorCode.BUSY_MIGRATING)) {
      data.putIfAbsent("vm", e.vm());
    }
    if (e.fix() != null) {
      data.put("fix", e.fix());
    }
    return new RelayError(code, e.getMessage(), data);
  }

  private static String text(Object value, String otherwise) {
    return value == null ? otherwise : value.toString();
  }
}
