package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RequestAuthorizer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A small real policy: the DPU may attach and detach only devices whose id starts with
 * {@code dpu-}; everything else is read-only and allowed. Records the callers it saw.
 */
public final class PrefixAuthorizer implements RequestAuthorizer {

  public static final String RULE = "dpu-device-prefix";

  private final List<String> callers = new CopyOnWriteArrayList<>();

  public List<String> callers() {
    return List.copyOf(callers);
  }

  @Override
  public AuthorizationDecision authorize(String caller, String method, Map<String, Object> params) {
    callers.add(caller);
    boolean mutating = RelayMethods.DEVICE_ATTACH.equals(method) || RelayMethods.DEVICE_DETACH.equals(method);
    Object id = params.get("deviceId");
    if (mutating && !(id instanceof String s && s.startsWith("dpu-"))) {
      return AuthorizationDecision.deny(RULE, "device ids of the DPU must start with dpu-, got " + id);
    }
    return AuthorizationDecision.allow(mutating ? RULE : "read-only");
  }
}
