/**
 * Live update: a new QEMU binary takes over a running VM on the same host through QEMU's
 * {@code cpr-transfer} migration mode (RAM and device descriptors handed over, nothing detached),
 * with rollback to the old process before the switchover. docs/live-update.md.
 */
package io.qmpsidecar.sidecar.liveupdate;
