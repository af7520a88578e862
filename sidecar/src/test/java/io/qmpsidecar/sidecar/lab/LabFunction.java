package io.qmpsidecar.sidecar.lab;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import java.util.Objects;

/**
 * One PCI function of L1 as its init read it from sysfs.
 *
 * @param bdf its address in L1
 * @param vendorId 4 hex digits
 * @param deviceId 4 hex digits
 * @param driver the L1 driver it is bound to, or null
 * @param iommuGroup its IOMMU group in L1, or -1 when it has none
 * @param physfn its PF when it is a VF, else null
 * @param vfIndex its VF number under {@code physfn}, or -1
 * @param cdev its VFIO device cdev ({@code vfioN} of {@code /dev/vfio/devices/}), or null when it
 *     has none (not bound to vfio-pci, or a kernel without {@code VFIO_DEVICE_CDEV})
 * @param role its part in the lab ({@code edu}, {@code nic}, {@code pf}, {@code shared},
 *     {@code sibling}), or null for L1's own devices and the VFs
 */
public record LabFunction(Bdf bdf, String vendorId, String deviceId, String driver, int iommuGroup,
    Bdf physfn, int vfIndex, String cdev, String role) {

  public LabFunction {
    Objects.requireNonNull(bdf, "bdf");
    Objects.requireNonNull(vendorId, "vendorId");
    Objects.requireNonNull(deviceId, "deviceId");
  }

  public boolean isVf() {
    return physfn != null;
  }
}
