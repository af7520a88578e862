package io.qmpsidecar.sidecar.proxy;

/**
 * A snapshot of one connected proxy client.
 *
 * @param caller the caller id its commands are checked under, e.g. {@code proxy:backup}
 * @param uid the connecting process's user id (SO_PEERCRED), or -1 when unknown
 * @param pid the connecting process's id, or -1 when unknown
 * @param socket the proxy socket it connected to
 * @param negotiated whether it completed {@code qmp_capabilities}
 * @param commands commands it sent that reached QEMU
 * @param denied commands the policy denied
 * @param eventsDelivered events written to its socket
 * @param eventsDropped events dropped because too many were waiting for it (it did not read);
 *     QMP has no message for this, so the client itself is never told
 */
public record ProxyClientStats(
    String caller,
    int uid,
    int pid,
    String socket,
    boolean negotiated,
    long commands,
    long denied,
    long eventsDelivered,
    long eventsDropped) {}
