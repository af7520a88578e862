package io.qmpsidecar.relay;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One device passed into a VM.
 *
 * @param vm the VM's name
 * @param deviceId the QEMU device id
 * @param bdf the host PCI address; null for an emulated device and a mediated device
 * @param driver the QEMU driver, e.g. {@code vfio-pci}
 * @param state {@code attached}, {@code detaching} or {@code pending}
 * @param mdev the mediated device's UUID; null (and left out on the wire) for anything else
 */
public record DeviceInfo(String vm, String deviceId, String bdf, String driver, String state,
    @JsonInclude(JsonInclude.Include.NON_NULL) String mdev) {

  /** A device that is not a mediated device. */
  public DeviceInfo(String vm, String deviceId, String bdf, String driver, String state) {
    this(vm, deviceId, bdf, driver, state, null);
  }
}
