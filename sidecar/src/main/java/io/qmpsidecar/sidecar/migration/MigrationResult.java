package io.qmpsidecar.sidecar.migration;

import java.time.Duration;

/**
 * A completed coordinated migration.
 *
 * @param source the source's record: phases, passes, QEMU's downtime and total time
 * @param destination the destination's record, or null when the coordinator did not drive it
 * @param observedDowntime from the source's {@code STOP} to the destination's {@code RESUME} on
 *     QEMU's clocks, or null when either event was not seen
 */
public record MigrationResult(MigrationRecord source, MigrationRecord destination, Duration observedDowntime) {}
