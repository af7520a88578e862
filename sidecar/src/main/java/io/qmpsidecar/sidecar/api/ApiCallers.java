package io.qmpsidecar.sidecar.api;

import io.qmpsidecar.policy.Caller;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
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

  /**
   * Reads {@code NAME:TOKEN} lines ({@code #} comments and blank lines ignored).
   *
   * @throws IllegalArgumentException naming the file and line of a malformed entry
   */
  static ApiCallers load(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read API tokens file " + file + ": " + e.getMessage(), e);
    }
    Map<String, byte[]> tokens = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || colon == line.length() - 1) {
        throw new IllegalArgumentException(file + ":" + (i + 1) + ": expected NAME:TOKEN");
      }
      if (line.length() - colon - 1 < 16) {
        throw new IllegalArgumentException(file + ":" + (i + 1) + ": token of '" + line.substring(0, colon)
            + "' is shorter than 16 characters; use a long random token (e.g. openssl rand -hex 32)");
      }
      tokens.put(line.substring(0, colon), line.substring(colon + 1).getBytes(StandardCharsets.UTF_8));
    }
    return new ApiCallers(Map.copyOf(tokens));
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
