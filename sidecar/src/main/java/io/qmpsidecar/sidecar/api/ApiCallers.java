package io.qmpsidecar.sidecar.api;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.sidecar.config.ApiTokens;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;

/**
 * Who is calling. On the Unix socket the file permissions already decided: the caller is
 * {@code api:local}. On TCP a bearer token is required; its name is the caller
 * ({@code api:NAME}). Tokens are compared in constant time.
 */
final class ApiCallers {
  static final Caller LOCAL = Caller.api("local");
  private final Map<String, byte[]> tokens;

  private ApiCallers(Map<String, byte[]> tokens) {
    this.tokens = tokens;
  }

  static ApiCallers none() {
    return new ApiCallers(Map.of());
  }

  /** The callers of the tokens the configuration read ({@link ApiTokens}). */
  static ApiCallers of(ApiTokens tokens) {
    return new ApiCallers(tokens.byCaller());
  }

  /** The caller for an {@code Authorization} header value, or null when it matches no token. */
  Caller byBearer(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    byte[] given = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
    Caller found = null;
    for (Map.Entry<String, byte[]> e : tokens.entrySet()) {
      if (MessageDigest.isEqual(e.getValue(), given)) {
        found = Caller.api(e.getKey());
      }
    }
    return found;
  }
}
