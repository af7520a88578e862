package io.qmpsidecar.qmp;

/**
 * The process at the other end of a QMP Unix socket, as the kernel reported it when it connected
 * ({@code SO_PEERCRED}): for a QEMU that listens on the socket, QEMU itself.
 *
 * @param pid its process id
 * @param uid its user id
 * @param gid its primary group id (not its supplementary groups: those are in {@code /proc/PID/status})
 */
public record QmpPeer(long pid, int uid, int gid) {}
