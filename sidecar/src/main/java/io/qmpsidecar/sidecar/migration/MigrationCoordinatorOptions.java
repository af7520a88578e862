package io.qmpsidecar.sidecar.migration;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link MigrationCoordinator} runs its steps.
 *
 * @param detachTimeout how long an {@code unplug-replug} detach may wait for the guest; default
 *     {@link #DEFAULT_DETACH_TIMEOUT}
 * @param attachAttempts attempts per re-attach (rollback) or destination attach; default
 *     {@link #DEFAULT_ATTACH_ATTEMPTS}
 * @param attachRetryDelay pause between attempts; default {@link #DEFAULT_ATTACH_RETRY_DELAY}
 * @param destinationTimeout how long after the source's {@code completed} the destination may
 *     take to report its own end; default {@link #DEFAULT_DESTINATION_TIMEOUT}
 * @param monitor options of the monitors the coordinator runs on each end
 */
public record MigrationCoordinatorOptions(Duration detachTimeout, int attachAttempts, Duration attachRetryDelay,
    Duration destinationTimeout, MigrationMonitorOptions monitor) {
  public static final Duration DEFAULT_DETACH_TIMEOUT = Duration.ofSeconds(30);
  public static final int DEFAULT_ATTACH_ATTEMPTS = 3;
  public static final Duration DEFAULT_ATTACH_RETRY_DELAY = Duration.ofSeconds(1);
  public static final Duration DEFAULT_DESTINATION_TIMEOUT = Duration.ofSeconds(30);

  public MigrationCoordinatorOptions {
    Objects.requireNonNull(detachTimeout, "detachTimeout");
    Objects.requireNonNull(attachRetryDelay, "attachRetryDelay");
    Objects.requireNonNull(destinationTimeout, "destinationTimeout");
    Objects.requireNonNull(monitor, "monitor");
    if (attachAttempts < 1) {
      throw new IllegalArgumentException("attachAttempts must be at least 1, got " + attachAttempts);
    }
  }

  public static MigrationCoordinatorOptions defaults() {
    return new MigrationCoordinatorOptions(DEFAULT_DETACH_TIMEOUT, DEFAULT_ATTACH_ATTEMPTS,
        DEFAULT_ATTACH_RETRY_DELAY, DEFAULT_DESTINATION_TIMEOUT, MigrationMonitorOptions.defaults());
  }

  public MigrationCoordinatorOptions withDetachTimeout(Duration timeout) {
    return new MigrationCoordinatorOptions(timeout, attachAttempts, attachRetryDelay, destinationTimeout, monitor);
  }

  public MigrationCoordinatorOptions withAttachRetryDelay(Duration delay) {
    return new MigrationCoordinatorOptions(detachTimeout, attachAttempts, delay, destinationTimeout, monitor);
  }

  public MigrationCoordinatorOptions withMonitor(MigrationMonitorOptions options) {
    return new MigrationCoordinatorOptions(detachTimeout, attachAttempts, attachRetryDelay, destinationTimeout, options);
  }
}
