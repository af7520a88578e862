package io.qmpsidecar.relay;

import java.util.Objects;

/**
 * The answer to {@code device.attach} and {@code device.detach}: the host took the operation;
 * its end comes later as {@code op.completed} or {@code op.failed} with the same opId.
 *
 * @param opId the request's idempotency key
 * @param vm the VM concerned
 * @param deviceId the QEMU device id concerned: for an attach without a {@code deviceId}, the id
 *     the host chose, which every later notification of the operation uses
 */
public record OpAccepted(String opId, String vm, String deviceId) {

  public OpAccepted {
    Objects.requireNonNull(opId, "opId");
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(deviceId, "deviceId: the acceptance must name the device id, also the one the host chose");
  }
}
