package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A generated sysfs and /dev tree shaped like the kernel's PCI and mdev parts: devices with vendor
 * and device ids, drivers, IOMMU groups, SR-IOV physfn/virtfn links, mdevs, /dev/vfio nodes.
 */
public final class SysfsTree {
  private final Path sys;
  private final Path dev;

  public SysfsTree(Path root) {
    this.sys = root.resolve("sys");
    this.dev = root.resolve("dev");
    try {
      Files.createDirectories(sys.resolve("bus/pci/devices"));
      Files.createDirectories(sys.resolve("bus/pci/drivers/vfio-pci"));
      Files.createDirectories(sys.resolve("kernel/iommu_groups"));
      Files.createDirectories(dev.resolve("vfio"));
      Files.writeString(sys.resolve("bus/pci/drivers_probe"), "");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path sys() {
    return sys;
  }

  public Path dev() {
    return dev;
  }

  /** Adds a function in IOMMU group {@code group}, bound to {@code driver} (null: none). */
  public SysfsTree device(String bdf, String vendor, String device, int group, String driver) {
    try {
      Path dir = sys.resolve("bus/pci/devices").resolve(bdf);
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("vendor"), "0x" + vendor + "\n");
      Files.writeString(dir.resolve("device"), "0x" + device + "\n");
      Files.writeString(dir.resolve("driver_override"), "(null)\n");
      Path groupDir = sys.resolve("kernel/iommu_groups").resolve(Integer.toString(group));
      Files.createDirectories(groupDir.resolve("devices"));
      Files.createSymbolicLink(dir.resolve("iommu_group"), groupDir);
      Files.createSymbolicLink(groupDir.resolve("devices").resolve(bdf), dir);
      if (driver != null) {
        bind(bdf, driver);
      }
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Makes {@code vf} the VF number {@code index} of {@code pf}. */
  public SysfsTree vf(String pf, int index, String vf) {
    try {
      Path devices = sys.resolve("bus/pci/devices");
      Files.createSymbolicLink(devices.resolve(vf).resolve("physfn"), devices.resolve(pf));
      Files.createSymbolicLink(devices.resolve(pf).resolve("virtfn" + index), devices.resolve(vf));
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Adds an mdev as the kernel shows it: its directory under its parent ({@code parentDir},
   * relative to the sysfs root, e.g. {@code devices/virtual/mtty/mtty}), linked from
   * {@code bus/mdev/devices/UUID}, with an {@code mdev_type} link into the parent's
   * {@code mdev_supported_types/TYPE} and an {@code iommu_group} link.
   */
  public SysfsTree mdev(String uuid, String parentDir, String type, int group) {
    try {
      Path parent = sys.resolve(parentDir);
      Path typeDir = parent.resolve("mdev_supported_types").resolve(type);
      Path dir = parent.resolve(uuid);
      Files.createDirectories(typeDir);
      Files.createDirectories(dir);
      Files.createSymbolicLink(dir.resolve("mdev_type"), typeDir);
      Path groupDir = sys.resolve("kernel/iommu_groups").resolve(Integer.toString(group));
      Files.createDirectories(groupDir.resolve("devices"));
      Files.createSymbolicLink(dir.resolve("iommu_group"), groupDir);
      Files.createSymbolicLink(groupDir.resolve("devices").resolve(uuid), dir);
      Path bus = sys.resolve("bus/mdev/devices");
      Files.createDirectories(bus);
      Files.createSymbolicLink(bus.resolve(uuid), dir);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates {@code /dev/vfio/N}. */
  public SysfsTree devNode(int group) {
    try {
      Files.writeString(dev.resolve("vfio").resolve(Integer.toString(group)), "");
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Gives the function the VFIO cdev {@code vfioN} (kernel 6.2+): {@code vfio-dev/vfioN} and {@code /dev/vfio/devices/vfioN}. */
  public SysfsTree cdev(String bdf, int n) {
    try {
      Files.createDirectories(sys.resolve("bus/pci/devices").resolve(bdf).resolve("vfio-dev/vfio" + n));
      Files.createDirectories(dev.resolve("vfio/devices"));
      Files.writeString(dev.resolve("vfio/devices/vfio" + n), "");
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Links the function to the driver, as the kernel does on a successful probe. */
  public void bind(String bdf, String driver) throws IOException {
    Path drv = sys.resolve("bus/pci/drivers").resolve(driver);
    Files.createDirectories(drv);
    if (!Files.exists(drv.resolve("unbind"))) {
      Files.writeString(drv.resolve("unbind"), "");
    }
    Path link = sys.resolve("bus/pci/devices").resolve(bdf).resolve("driver");
    Files.deleteIfExists(link);
    Files.createSymbolicLink(link, drv);
  }

  /** Removes the function's driver link, as the kernel does on unbind. */
  public void unbind(String bdf) throws IOException {
    Files.deleteIfExists(sys.resolve("bus/pci/devices").resolve(bdf).resolve("driver"));
  }

  /** The driver the function is bound to, or null. */
  public String driver(String bdf) throws IOException {
    Path link = sys.resolve("bus/pci/devices").resolve(bdf).resolve("driver");
    return Files.isSymbolicLink(link) ? Files.readSymbolicLink(link).getFileName().toString() : null;
  }
}
