package io.qmpsidecar.sidecar.config;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The API's bearer tokens by caller name, as the configuration's check read them from
 * {@code api.tokensFile}: the API uses exactly these, and the file is read once. Equal when the
 * same names have the same tokens, so a reload tells a changed file from an unchanged one; its
 * text names the callers, never a token.
 */
public final class ApiTokens {
  /** No TCP listener, no tokens. */
  public static final ApiTokens NONE = new ApiTokens(Map.of());

  private final Map<String, byte[]> byCaller;

  public ApiTokens(Map<String, byte[]> byCaller) {
    Map<String, byte[]> copy = new HashMap<>();
    byCaller.forEach((name, token) -> copy.put(name, token.clone()));
    this.byCaller = Map.copyOf(copy);
  }

  /** Each caller's token; the arrays are the caller's to read, not to change. */
  public Map<String, byte[]> byCaller() {
    return byCaller;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ApiTokens other) || !byCaller.keySet().equals(other.byCaller.keySet())) {
      return false;
    }
    return byCaller.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), other.byCaller.get(e.getKey())));
  }

  @Override
  public int hashCode() {
    return Objects.hash(byCaller.keySet());
  }

  @Override
  public String toString() {
    return "ApiTokens" + new TreeSet<>(byCaller.keySet());
  }
}
