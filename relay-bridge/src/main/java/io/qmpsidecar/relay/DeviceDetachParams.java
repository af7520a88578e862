package io.qmpsidecar.relay;

/**
 * {@code device.detach}: remove a device the DPU attached. Bound strictly before the policy sees it.
 *
 * @param opId idempotency key chosen by the DPU (1 to 128 characters); a repeat returns the first outcome
 * @param vm the VM's name in the sidecar's configuration
 * @param deviceId the QEMU device id
 */
public record DeviceDetachParams(String opId, String vm, String deviceId) {}
