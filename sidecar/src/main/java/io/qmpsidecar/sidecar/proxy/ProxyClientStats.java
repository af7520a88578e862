package io.qmpsidecar.sidecar.proxy;

/**
 * A snapshot of one connected proxy client.
 *
 * @param caller the caller id its commands are checked under, e.g. {@code proxy:client-3}
 * @param negotiated whether it completed {@code qmp_capabilities}
 * @param commands commands it sent that reached QEMU
 * @param denied commands the policy denied
 * @param eventsDelivered events handed to its socket
 * @param eventsDropped events dropped because its socket could not take them and its event queue
 *     was full; QMP has no message for this, so the client itself is never told
 */
public record ProxyClientStats(
    String caller,
    boolean negotiated,
    long commands,
    long denied,
    long eventsDelivered,
    long eventsDropped) {}
