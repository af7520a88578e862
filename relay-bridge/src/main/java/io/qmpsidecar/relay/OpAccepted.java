package io.qmpsidecar.relay;

/**
 * The answer to {@code device.attach} and {@code device.detach}: the host took the operation;
 * its end comes later as {@code op.completed} or {@code op.failed} with the same opId.
 *
 * @param opId the request's idempotency key
 * @param vm the VM concerned
 * @param deviceId the QEMU device id concerned
 */
public record OpAccepted(String opId, String vm, String deviceId) {}
