package io.qmpsidecar.sidecar.migration;

import java.time.Duration;
import java.time.Instant;

/**
 * When a phase began and ended, on QEMU's clock (the timestamps of its events).
 *
 * @param end null while the phase lasts
 */
public record PhaseTiming(MigrationPhase phase, Instant start, Instant end) {

  /** The phase's length, or null while it lasts. */
  public Duration duration() {
    return end == null ? null : Duration.between(start, end);
  }

  PhaseTiming endAt(Instant at) {
    return new PhaseTiming(phase, start, at);
  }
}
