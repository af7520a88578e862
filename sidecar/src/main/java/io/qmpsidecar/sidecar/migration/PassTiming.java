package io.qmpsidecar.sidecar.migration;

import java.time.Instant;

/**
 * One pre-copy pass: QEMU's {@code MIGRATION_PASS} event.
 *
 * @param pass QEMU's pass number, from 1
 * @param start the event's timestamp
 * @param remainingBytes RAM still dirty when the pass began (from the {@code query-migrate}
 *     that followed the event), or -1 when the query failed
 */
public record PassTiming(long pass, Instant start, long remainingBytes) {}
