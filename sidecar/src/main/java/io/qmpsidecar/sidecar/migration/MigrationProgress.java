package io.qmpsidecar.sidecar.migration;

/**
 * RAM progress from the latest {@code query-migrate}. Figures QEMU did not report are -1.
 *
 * @param transferredBytes RAM bytes sent so far
 * @param remainingBytes RAM bytes still dirty
 * @param totalBytes guest RAM size
 * @param dirtyPagesRate pages dirtied per second in the last pass
 * @param expectedDowntimeMs QEMU's estimate of the switchover downtime
 * @param passes dirty-bitmap syncs so far ({@code dirty-sync-count}): one per pre-copy pass
 */
public record MigrationProgress(
    long transferredBytes, long remainingBytes, long totalBytes, long dirtyPagesRate,
    long expectedDowntimeMs, long passes) {

  public static final MigrationProgress UNKNOWN = new MigrationProgress(-1, -1, -1, -1, -1, -1);
}
