package io.qmpsidecar.sidecar.hostprep;

import java.util.Optional;

/** One device of an IOMMU group and the host driver it is bound to (empty: none). */
public record GroupMember(Bdf bdf, Optional<String> driver) {

  /** Whether this device leaves the group usable for VFIO: bound to a vfio driver, a stub, or none. */
  public boolean vfioSafe() {
    return driver.map(GroupMember::isVfioSafeDriver).orElse(true);
  }

  static boolean isVfioSafeDriver(String name) {
    return name.contains("vfio") || name.equals("pci-stub") || name.equals("pcieport");
  }
}
