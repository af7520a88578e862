package io.qmpsidecar.sidecar.hostprep;

import java.util.Objects;

/**
 * What sysfs says about a mediated device (mdev), read without changing anything. An mdev is never
 * rebound: its parent's driver created it for VFIO, and it has an IOMMU group of its own.
 *
 * @param uuid its name under {@code /sys/bus/mdev/devices/}
 * @param type its type, the name of the directory its {@code mdev_type} link points to (e.g.
 *     {@code mtty-1}, {@code nvidia-63})
 * @param parent its parent device: a PCI address, or a virtual device's name such as {@code mtty}
 * @param iommuGroup its IOMMU group number
 */
public record HostMdev(String uuid, String type, String parent, int iommuGroup) {
  /** Where QEMU finds an mdev, whatever sysfs root the sidecar reads. */
  public static final String SYSFS_DIR = "/sys/bus/mdev/devices/";

  public HostMdev {
    Objects.requireNonNull(uuid, "uuid");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(parent, "parent");
  }

  /** The UUID of the mdev a device's {@code sysfsdev} names, or null when it names none. */
  public static String uuidOf(String sysfsdev) {
    return sysfsdev != null && sysfsdev.startsWith(SYSFS_DIR) ? sysfsdev.substring(SYSFS_DIR.length()) : null;
  }

  /** The path {@code vfio-pci} takes as {@code sysfsdev}. */
  public String sysfsdev() {
    return SYSFS_DIR + uuid;
  }
}
