package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestAuthorizer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A small real policy: the DPU may attach and detach only devices whose id starts with
 * {@code dpu-} (an attach without an id is allowed: the host chooses a {@code dpu-} id);
 * everything else is read-only and allowed. It can be told to throttle every request (a rate
 * limit). Records the callers and params it saw.
 */
public final class PrefixAuthorizer implements RequestAuthorizer {

  /** The shipped dpu preset's last rule, which denies the DPU what its other rules do not allow. */
  public static final String RULE = "dpu-nothing-else";
  public static final String REASON = "the DPU may only attach and detach its functions and run read-only queries";
  public static final String RATE_RULE = "dpu-rate";

  private final List<String> callers = new CopyOnWriteArrayList<>();
  private final List<Map<String, Object>> params = new CopyOnWriteArrayList<>();
  private volatile Duration throttle;

  public List<String> callers() {
    return List.copyOf(callers);
  }

  /** The params of every request it decided, as it got them. */
  public List<Map<String, Object>> params() {
    return List.copyOf(params);
  }

  /** From now on every request is throttled for {@code retryAfter}; null ends it. */
  public void throttle(Duration retryAfter) {
    throttle = retryAfter;
  }

  @Override
  public AuthorizationDecision authorize(String caller, String method, Map<String, Object> params) {
    callers.add(caller);
    this.params.add(Map.copyOf(params));
    Duration t = throttle;
    if (t != null) {
      return AuthorizationDecision.throttle(RATE_RULE, "more than 10 requests per second from the DPU", t);
    }
    boolean mutating = RelayMethods.DEVICE_ATTACH.equals(method) || RelayMethods.DEVICE_DETACH.equals(method);
    Object id = params.get("deviceId");
    boolean chosenByHost = id == null && RelayMethods.DEVICE_ATTACH.equals(method);
    if (mutating && !chosenByHost && !(id instanceof String s && s.startsWith("dpu-"))) {
      return AuthorizationDecision.deny(RULE, REASON);
    }
    return AuthorizationDecision.allow(mutating ? RULE : "read-only");
  }
}
