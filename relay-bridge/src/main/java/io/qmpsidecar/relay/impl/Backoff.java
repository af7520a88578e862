package io.qmpsidecar.relay.impl;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with full jitter: each delay is uniform in [initial/2, cap], cap doubling. */
final class Backoff {

  private final long initialMs;
  private final long maxMs;
  private long capMs;

  Backoff(Duration initial, Duration max) {
    this.initialMs = initial.toMillis();
    this.maxMs = max.toMillis();
    this.capMs = initialMs;
  }

  long nextDelayMs() {
    long low = Math.max(1, initialMs / 2);
    long delay = low + ThreadLocalRandom.current().nextLong(Math.max(1, capMs - low + 1));
    capMs = Math.min(maxMs, capMs * 2);
    return delay;
  }

  void reset() {
    capMs = initialMs;
  }
}
