package io.qmpsidecar.relay;

/**
 * One device passed into a VM.
 *
 * @param vm the VM's name
 * @param deviceId the QEMU device id
 * @param bdf the host PCI address
 * @param driver the QEMU driver, e.g. {@code vfio-pci}
 * @param state {@code attached}, {@code detaching} or {@code pending}
 */
public record DeviceInfo(String vm, String deviceId, String bdf, String driver, String state) {}
