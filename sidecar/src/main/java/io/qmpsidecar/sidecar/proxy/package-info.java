/**
 * The per-VM QMP proxy socket: any QMP client connects to it as to QEMU's own monitor, its
 * commands decided before they reach QEMU over the sidecar's one connection.
 *
 * <p>An entry point: may use {@code ops} and the layers below it, never {@code daemon} or
 * another entry point.
 */
package io.qmpsidecar.sidecar.proxy;
