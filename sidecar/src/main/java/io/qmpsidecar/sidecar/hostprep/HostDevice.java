package io.qmpsidecar.sidecar.hostprep;

import java.util.List;
import java.util.Optional;

/**
 * What sysfs says about a PCI function, read without changing anything.
 *
 * @param bdf the function
 * @param vendorId 4 hex digits from {@code vendor}, without {@code 0x}
 * @param deviceId 4 hex digits from {@code device}, without {@code 0x}
 * @param physfn its PF when it is an SR-IOV VF
 * @param driver the host driver it is bound to now
 * @param iommuGroup its IOMMU group number
 * @param group the other devices of the group, with their drivers
 */
public record HostDevice(Bdf bdf, String vendorId, String deviceId, Optional<Bdf> physfn,
    Optional<String> driver, int iommuGroup, List<GroupMember> group) {

  public HostDevice {
    group = List.copyOf(group);
  }

  /** Devices of the group (other than this one) bound to a driver that is not VFIO-safe. */
  public List<GroupMember> foreignGroupMembers() {
    return group.stream().filter(m -> !m.vfioSafe()).toList();
  }

  /** Whether the function is bound to a VFIO driver ({@code vfio-pci} or a variant) now. */
  public boolean boundToVfio() {
    return driver.map(d -> d.contains("vfio")).orElse(false);
  }

  public boolean groupExclusive() {
    return foreignGroupMembers().isEmpty();
  }
}
