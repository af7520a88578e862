package io.qmpsidecar.relay;

/**
 * {@code device.attach}: pass a DPU function into a VM. Bound strictly before the policy sees it.
 *
 * @param opId idempotency key chosen by the DPU (1 to 128 characters); a repeat returns the first outcome
 * @param vm the VM's name in the sidecar's configuration
 * @param bdf the PCI address of the DPU function on the host, lower case, e.g. {@code 0000:03:00.1}
 * @param deviceId the QEMU device id to use, or null: the host chooses one and says which in its
 *     {@link OpAccepted}
 */
public record DeviceAttachParams(String opId, String vm, String bdf, String deviceId) {}
