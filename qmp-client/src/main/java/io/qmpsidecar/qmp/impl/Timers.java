package io.qmpsidecar.qmp.impl;

import java.time.Duration;

/** Timer delays as Vert.x takes them. */
final class Timers {
  private Timers() {}

  /**
   * {@code wait} in milliseconds, at least 1: Vert.x refuses a timer under 1 ms (it throws on the
   * event loop and the timer never fires), so a shorter, zero or negative wait expires after 1 ms.
   */
  static long delayMs(Duration wait) {
    return Math.max(1, wait.toMillis());
  }
}
