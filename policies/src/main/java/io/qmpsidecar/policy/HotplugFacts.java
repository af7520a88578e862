package io.qmpsidecar.policy;

import java.util.Objects;
import java.util.Optional;

/**
 * What the hotplug flow resolved from sysfs about the function a {@code vfio-pci}
 * {@code device_add} would attach: a PCI function (PF or SR-IOV VF) named by {@code host}, or a
 * mediated device (mdev) named by {@code sysfsdev}. The engine never reads sysfs itself; rules
 * with hotplug constraints deny a request that comes without facts.
 *
 * @param bdf the PCI function's address, {@code dddd:bb:dd.f} (e.g. {@code 0000:03:00.2}); empty
 *     for an mdev
 * @param physfn the address of its physical function (the sysfs {@code physfn} link) when the
 *     function is an SR-IOV VF; empty for a PF and an mdev
 * @param vendorId the 4-hex-digit vendor id from sysfs {@code vendor} ({@code 0x} prefix allowed);
 *     empty for an mdev
 * @param deviceId the 4-hex-digit device id from sysfs {@code device} ({@code 0x} prefix allowed);
 *     empty for an mdev
 * @param attachedFunctions how many functions are already attached to the target VM through
 *     qmp-sidecar, not counting this one
 * @param iommuGroupExclusive true when the function's IOMMU group holds no other device bound to
 *     a non-vfio driver (so passing it through hands nothing else of the host to the VM)
 * @param hostDriver the driver the function will be bound to before {@code device_add} (the
 *     attach request's {@code hostDriver}); empty when nothing is rebound (the function must
 *     already be bound to a VFIO driver) and for an mdev
 * @param mdev the mediated device, when the function is one
 */
public record HotplugFacts(
    String bdf,
    Optional<String> physfn,
    String vendorId,
    String deviceId,
    int attachedFunctions,
    boolean iommuGroupExclusive,
    Optional<String> hostDriver,
    Optional<Mdev> mdev) {

  public HotplugFacts {
    Objects.requireNonNull(bdf, "bdf");
    Objects.requireNonNull(physfn, "physfn");
    Objects.requireNonNull(vendorId, "vendorId");
    Objects.requireNonNull(deviceId, "deviceId");
    Objects.requireNonNull(hostDriver, "hostDriver");
    Objects.requireNonNull(mdev, "mdev");
    if (attachedFunctions < 0) {
      throw new IllegalArgumentException(
          "attachedFunctions must be >= 0, got " + attachedFunctions);
    }
    if (mdev.isEmpty() && bdf.isEmpty()) {
      throw new IllegalArgumentException("a PCI function needs its bdf; an mdev needs its Mdev");
    }
  }

  /** Facts of a PCI function that is attached as it is bound now (no {@code hostDriver}). */
  public HotplugFacts(String bdf, Optional<String> physfn, String vendorId, String deviceId,
      int attachedFunctions, boolean iommuGroupExclusive) {
    this(bdf, physfn, vendorId, deviceId, attachedFunctions, iommuGroupExclusive,
        Optional.empty(), Optional.empty());
  }

  /** Facts of a mediated device. */
  public static HotplugFacts ofMdev(Mdev mdev, int attachedFunctions, boolean iommuGroupExclusive) {
    return new HotplugFacts("", Optional.empty(), "", "", attachedFunctions, iommuGroupExclusive,
        Optional.empty(), Optional.of(mdev));
  }

  /** The same facts with the driver the function will be bound to. */
  public HotplugFacts withHostDriver(String driver) {
    return new HotplugFacts(bdf, physfn, vendorId, deviceId, attachedFunctions,
        iommuGroupExclusive, Optional.of(driver), mdev);
  }

  /**
   * A mediated device as sysfs shows it.
   *
   * @param uuid its UUID, the name under {@code /sys/bus/mdev/devices/}
   * @param type its type as created ({@code mdev_type/name} of the type directory, e.g.
   *     {@code mtty-2})
   * @param parent its parent device: a PCI address, or a virtual device's name such as
   *     {@code mtty}
   */
  public record Mdev(String uuid, String type, String parent) {
    public Mdev {
      Objects.requireNonNull(uuid, "uuid");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(parent, "parent");
    }
  }
}
