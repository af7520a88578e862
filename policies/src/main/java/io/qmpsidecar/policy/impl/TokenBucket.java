package io.qmpsidecar.policy.impl;

/**
 * A token bucket: starts full with {@code burst} tokens and refills continuously at
 * {@code perSecond}. Time comes from the caller, so tests decide it; a clock that steps back is
 * treated as standing still.
 */
final class TokenBucket {

  private final double burst;
  private final double perMilli;
  private double tokens;
  private long lastMillis;

  TokenBucket(long burst, double perSecond, long nowMillis) {
    this.burst = burst;
    this.perMilli = perSecond / 1000.0;
    this.tokens = burst;
    this.lastMillis = nowMillis;
  }

  /** Takes one token if there is one; returns whether it did. */
  synchronized boolean tryTake(long nowMillis) {
    if (nowMillis > lastMillis) {
      tokens = Math.min(burst, tokens + (nowMillis - lastMillis) * perMilli);
      lastMillis = nowMillis;
    }
    if (tokens >= 1.0) {
      tokens -= 1.0;
      return true;
    }
    return false;
  }

  /** Milliseconds until the next token, at least 1; only meaningful after {@link #tryTake} failed. */
  synchronized long millisToNextToken() {
    // Less a hair: 0.999 tokens at 1 per ms is 1 ms away, not 1.0000000000000009 rounded up.
    return Math.max(1, (long) Math.ceil((1.0 - tokens) / perMilli - 1e-6));
  }
}
