package io.qmpsidecar.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * What the hotplug flow resolved from sysfs about the PCI function a {@code vfio-pci}
 * {@code device_add} would attach. The engine never reads sysfs itself; rules with hotplug
 * constraints deny a request that comes without facts.
 *
 * @param bdf the function's address, {@code dddd:bb:dd.f} (e.g. {@code 0000:03:00.2})
 * @param physfn the address of its physical function (the sysfs {@code physfn} link) when the
 *     function is an SR-IOV VF; empty for a PF
 * @param vendorId the 4-hex-digit vendor id from sysfs {@code vendor} ({@code 0x} prefix allowed)
 * @param deviceId the 4-hex-digit device id from sysfs {@code device} ({@code 0x} prefix allowed)
 * @param attachedFunctions how many functions are already attached to the target VM through
 *     qmp-sidecar, not counting this one
 * @param iommuGroupExclusive true when the function's IOMMU group holds no other device bound to
 *     a non-vfio driver (so passing it through hands nothing else of the host to the VM)
 */
public record HotplugFacts(
    String bdf,
    Optional<String> physfn,
    String vendorId,
    String deviceId,
    int attachedFunctions,
    boolean iommuGroupExclusive) {

  public HotplugFacts {
    Objects.requireNonNull(bdf, "bdf");
    Objects.requireNonNull(physfn, "physfn");
    Objects.requireNonNull(vendorId, "vendorId");
    Objects.requireNonNull(deviceId, "deviceId");
    if (attachedFunctions < 0) {
      throw new IllegalArgumentException(
          "attachedFunctions must be >= 0, got " + attachedFunctions);
    }
  }
}
