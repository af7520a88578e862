package io.qmpsidecar.qmp;

import java.time.Duration;

/**
 * How a connection that lost QEMU tries again: exponential backoff from {@code initialDelay} up
 * to {@code maxDelay}, each delay spread by up to {@code jitter} (0.2 = +-20%) so that many
 * sidecars do not retry in step. {@code maxAttempts} 0 means keep trying until closed.
 */
public record ReconnectPolicy(
    boolean enabled, Duration initialDelay, Duration maxDelay, double multiplier, double jitter,
    int maxAttempts) {

  /** Default first delay: 100 ms. */
  public static final Duration DEFAULT_INITIAL_DELAY = Duration.ofMillis(100);
  /** Default longest delay: 10 s. */
  public static final Duration DEFAULT_MAX_DELAY = Duration.ofSeconds(10);
  /** Default growth per attempt: 2. */
  public static final double DEFAULT_MULTIPLIER = 2.0;
  /** Default jitter: +-20%. */
  public static final double DEFAULT_JITTER = 0.2;

  /** No reconnect: a lost connection stays disconnected. This is the default. */
  public static final ReconnectPolicy DISABLED = new ReconnectPolicy(
      false, DEFAULT_INITIAL_DELAY, DEFAULT_MAX_DELAY, DEFAULT_MULTIPLIER, DEFAULT_JITTER, 0);

  /** Reconnect forever with the default backoff. */
  public static final ReconnectPolicy FOREVER = new ReconnectPolicy(
      true, DEFAULT_INITIAL_DELAY, DEFAULT_MAX_DELAY, DEFAULT_MULTIPLIER, DEFAULT_JITTER, 0);

  public ReconnectPolicy {
    if (initialDelay == null || initialDelay.isNegative() || initialDelay.isZero()) {
      throw new IllegalArgumentException("reconnect initialDelay must be positive");
    }
    if (maxDelay == null || maxDelay.compareTo(initialDelay) < 0) {
      throw new IllegalArgumentException("reconnect maxDelay must be at least initialDelay");
    }
    if (multiplier < 1.0) {
      throw new IllegalArgumentException("reconnect multiplier must be >= 1, got " + multiplier);
    }
    if (jitter < 0 || jitter >= 1) {
      throw new IllegalArgumentException("reconnect jitter must be in [0, 1), got " + jitter);
    }
    if (maxAttempts < 0) {
      throw new IllegalArgumentException("reconnect maxAttempts must be >= 0, got " + maxAttempts);
    }
  }

  public ReconnectPolicy withInitialDelay(Duration delay) {
    return new ReconnectPolicy(enabled, delay, maxDelay, multiplier, jitter, maxAttempts);
  }

  public ReconnectPolicy withMaxDelay(Duration delay) {
    return new ReconnectPolicy(enabled, initialDelay, delay, multiplier, jitter, maxAttempts);
  }

  public ReconnectPolicy withMaxAttempts(int attempts) {
    return new ReconnectPolicy(enabled, initialDelay, maxDelay, multiplier, jitter, attempts);
  }

  /**
   * The delay before attempt {@code attempt} (1-based), before jitter: {@code initialDelay *
   * multiplier^(attempt-1)}, capped at {@code maxDelay}.
   */
  public Duration baseDelay(int attempt) {
    double millis = initialDelay.toMillis() * Math.pow(multiplier, Math.max(0, attempt - 1));
    return millis >= maxDelay.toMillis() ? maxDelay : Duration.ofMillis((long) millis);
  }

  /** The delay before attempt {@code attempt} with jitter applied; {@code random} in [0, 1). */
  public Duration delay(int attempt, double random) {
    long base = baseDelay(attempt).toMillis();
    long spread = (long) (base * jitter * (2 * random - 1));
    return Duration.ofMillis(Math.max(1, base + spread));
  }
}
