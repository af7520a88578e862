package io.qmpsidecar.relay;

/**
 * {@code device.attach}: pass a DPU function into a VM.
 *
 * @param opId idempotency key chosen by the DPU; a repeat returns the first outcome
 * @param vm the VM's name in the sidecar's configuration
 * @param bdf the PCI address of the DPU function on the host, e.g. {@code 0000:03:00.1}
 * @param deviceId the QEMU device id to use (the policy forces a {@code dpu-} prefix)
 */
public record DeviceAttachParams(String opId, String vm, String bdf, String deviceId) {}
