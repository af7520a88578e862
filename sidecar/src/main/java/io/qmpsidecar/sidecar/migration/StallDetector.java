package io.qmpsidecar.sidecar.migration;

/**
 * Decides whether pre-copy stalls: the remaining RAM at the start of a pass is no smaller than
 * the smallest seen over the previous {@code window} passes. Not thread-safe: one per migration,
 * fed on one event loop.
 */
final class StallDetector {
  private final int window;
  private long best = Long.MAX_VALUE;
  private int passesWithoutProgress;

  /** @param window passes without a new low of remaining RAM that count as a stall (at least 1) */
  StallDetector(int window) {
    if (window < 1) {
      throw new IllegalArgumentException("stall window must be at least 1 pass, got " + window);
    }
    this.window = window;
  }

  /** Feeds the remaining bytes at the start of a pass; true when the migration now counts as stalled. */
  boolean onPass(long remainingBytes) {
    if (remainingBytes < 0) {
      return false;
    }
    if (remainingBytes < best) {
      best = remainingBytes;
      passesWithoutProgress = 0;
      return false;
    }
    passesWithoutProgress++;
    return passesWithoutProgress >= window;
  }
}
