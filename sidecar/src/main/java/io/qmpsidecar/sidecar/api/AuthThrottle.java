package io.qmpsidecar.sidecar.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Failed bearer-token attempts, per peer address: each peer may fail {@link #BURST} times at
 * once, then once per {@link #REFILL_MILLIS}; beyond that its requests are refused before any
 * token is compared, so guessing a token costs time. Bounded: the least recently seen peers are
 * forgotten beyond {@link #PEERS}. Thread-safe.
 */
final class AuthThrottle {
  static final int BURST = 10;
  static final long REFILL_MILLIS = 1000;
  static final int PEERS = 4096;

  private record Bucket(double tokens, long at) {}

  private final Map<String, Bucket> peers = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
      return size() > PEERS;
    }
  };

  /** Milliseconds until {@code peer} may try again; 0 when it may now. */
  synchronized long waitMillis(String peer, long now) {
    Bucket b = refilled(peer, now);
    return b.tokens() >= 1 ? 0 : (long) Math.ceil((1 - b.tokens()) * REFILL_MILLIS);
  }

  /** Counts a failed attempt of {@code peer}. */
  synchronized void failed(String peer, long now) {
    Bucket b = refilled(peer, now);
    peers.put(peer, new Bucket(Math.max(0, b.tokens() - 1), now));
  }

  private Bucket refilled(String peer, long now) {
    Bucket b = peers.get(peer);
    if (b == null) {
      return new Bucket(BURST, now);
    }
    return new Bucket(Math.min(BURST, b.tokens() + (now - b.at()) / (double) REFILL_MILLIS), now);
  }
}
