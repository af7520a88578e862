package io.qmpsidecar.sidecar.migration;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link MigrationMonitor} watches one QEMU.
 *
 * @param pollInterval how often {@code query-migrate} runs while a migration is active; default
 *     {@link #DEFAULT_POLL_INTERVAL}
 * @param stallPasses passes without a new low of remaining RAM that count as a stall; default
 *     {@link #DEFAULT_STALL_PASSES}
 * @param eventQueue capacity of the monitor's event subscription; default {@link #DEFAULT_EVENT_QUEUE}
 */
public record MigrationMonitorOptions(Duration pollInterval, int stallPasses, int eventQueue) {
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofMillis(500);
  public static final int DEFAULT_STALL_PASSES = 5;
  public static final int DEFAULT_EVENT_QUEUE = 256;

  public MigrationMonitorOptions {
    Objects.requireNonNull(pollInterval, "pollInterval");
    if (pollInterval.toMillis() < 1) {
      throw new IllegalArgumentException("pollInterval must be at least 1 ms, got " + pollInterval);
    }
    if (stallPasses < 1) {
      throw new IllegalArgumentException("stallPasses must be at least 1, got " + stallPasses);
    }
    if (eventQueue < 1) {
      throw new IllegalArgumentException("eventQueue must be at least 1, got " + eventQueue);
    }
  }

  public static MigrationMonitorOptions defaults() {
    return new MigrationMonitorOptions(DEFAULT_POLL_INTERVAL, DEFAULT_STALL_PASSES, DEFAULT_EVENT_QUEUE);
  }

  public MigrationMonitorOptions withPollInterval(Duration interval) {
    return new MigrationMonitorOptions(interval, stallPasses, eventQueue);
  }

  public MigrationMonitorOptions withStallPasses(int passes) {
    return new MigrationMonitorOptions(pollInterval, passes, eventQueue);
  }
}
