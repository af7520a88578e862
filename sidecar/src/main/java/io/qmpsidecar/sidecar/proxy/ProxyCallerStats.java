package io.qmpsidecar.sidecar.proxy;

import java.time.Instant;

/**
 * What one caller did through a VM's proxy since the proxy started, over all its connections
 * (a caller is named by its credentials or its socket, so reconnecting does not reset this).
 *
 * @param caller the caller id, e.g. {@code proxy:backup}
 * @param connected its clients connected now
 * @param connections its connections since the proxy started
 * @param commands its commands that reached QEMU
 * @param denied its commands the policy denied
 * @param eventsDelivered events written to its sockets
 * @param eventsDropped events dropped because it did not read them
 * @param lastDrop when an event was last dropped for it, or null
 */
public record ProxyCallerStats(
    String caller,
    int connected,
    long connections,
    long commands,
    long denied,
    long eventsDelivered,
    long eventsDropped,
    Instant lastDrop) {}
