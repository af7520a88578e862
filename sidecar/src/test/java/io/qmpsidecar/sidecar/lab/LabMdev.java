package io.qmpsidecar.sidecar.lab;

import java.util.Objects;

/**
 * One mediated device L1's init created (lab v2: the kernel's mtty sample, an emulated 16550
 * serial port whose device state migrates).
 *
 * @param uuid its name under {@code /sys/bus/mdev/devices/}
 * @param type its mdev type ({@code mtty-1}: one port)
 * @param parent its parent device ({@code mtty})
 * @param iommuGroup its (emulated) IOMMU group in L1, or -1
 * @param cdev its VFIO device cdev ({@code vfioN} of {@code /dev/vfio/devices/}), or null
 */
public record LabMdev(String uuid, String type, String parent, int iommuGroup, String cdev) {

  public LabMdev {
    Objects.requireNonNull(uuid, "uuid");
    Objects.requireNonNull(type, "type");
  }

  /** The path QEMU's {@code vfio-pci} takes as {@code sysfsdev}. */
  public String sysfsdev() {
    return "/sys/bus/mdev/devices/" + uuid;
  }

  /** Its VFIO device node, {@code /dev/vfio/devices/vfioN}; fails when L1 has no cdev for it. */
  public String cdevPath() {
    if (cdev == null) {
      throw new IllegalStateException("mdev " + uuid + " has no VFIO device cdev: the L1 kernel has no"
          + " VFIO_DEVICE_CDEV (boot the lab v2 kernel)");
    }
    return "/dev/vfio/devices/" + cdev;
  }
}
