/**
 * Coordinated migration: strategies per function (VFIO migration, unplug/replug, failover,
 * block), the monitor of QEMU's migration, rollback, and the events it publishes
 * ({@code PublishedMigrationEvent}).
 *
 * <p>A flow: may use the foundation and {@code failure}, never the relay's wire format; used by
 * {@code ops} and above.
 */
package io.qmpsidecar.sidecar.migration;
