package io.qmpsidecar.relay;

import java.util.Map;

/**
 * Checks every DPU request before anything runs; the sidecar plugs its policy engine in here.
 * Called on the relay host's event loop after the params were bound strictly (a request with
 * missing or mistyped params never gets here): must decide without blocking.
 */
public interface RequestAuthorizer {

  /** The caller identity the relay passes for every request that arrives over the link. */
  String CALLER_DPU = "dpu";

  /**
   * @param caller always {@link #CALLER_DPU} for requests from the link
   * @param method the JSON-RPC method, e.g. {@code device.attach}
   * @param params the request's bound params: only the members the method defines, as strings,
   *     absent ones left out (e.g. an attach without {@code deviceId})
   * @return the decision; a denied request is answered with {@link ErrorCode#POLICY_DENIED}, a
   *     throttled one with {@link ErrorCode#TOO_MANY_REQUESTS} and {@code data.retryAfterMs}
   */
  AuthorizationDecision authorize(String caller, String method, Map<String, Object> params);
}
