package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Blocking reads of the PCI and mdev parts of a sysfs tree; callers run it on a worker thread. */
final class SysfsReader {
  private final Path devices;
  private final Path mdevs;

  SysfsReader(Path sysfsRoot) {
    this.devices = sysfsRoot.resolve("bus/pci/devices");
    this.mdevs = sysfsRoot.resolve("bus/mdev/devices");
  }

  Path deviceDir(Bdf bdf) {
    return devices.resolve(bdf.value());
  }

  HostDevice read(Bdf bdf) {
    Path dir = deviceDir(bdf);
    if (!Files.isDirectory(dir)) {
      throw HostPrepFailure.of(bdf.value(), "no such PCI device (" + dir + " is missing)",
          "check the address with lspci -D, and for a VF that sriov_numvfs of its PF created it");
    }
    String vendor = hexId(bdf, dir.resolve("vendor"));
    String device = hexId(bdf, dir.resolve("device"));
    Optional<Bdf> physfn = linkName(dir.resolve("physfn")).map(Bdf::parse);
    Optional<String> driver = driver(bdf);
    Optional<String> group = linkName(dir.resolve("iommu_group"));
    if (group.isEmpty()) {
      throw HostPrepFailure.of(bdf.value(), "has no IOMMU group, so VFIO cannot use it",
          "enable the IOMMU (intel_iommu=on or amd_iommu=on on the kernel command line, VT-d/AMD-Vi"
              + " in firmware) and reboot");
    }
    int groupNumber;
    try {
      groupNumber = Integer.parseInt(group.get());
    } catch (NumberFormatException e) {
      throw HostPrepFailure.of(bdf.value(), "iommu_group link ends in '" + group.get()
          + "', not a group number", "check that the sysfs root points at a real sysfs", e);
    }
    List<GroupMember> members = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve("iommu_group/devices"))) {
      for (Path p : ds) {
        Bdf member = Bdf.parse(p.getFileName().toString());
        if (!member.equals(bdf)) {
          members.add(new GroupMember(member, driver(member)));
        }
      }
    } catch (IOException e) {
      throw HostPrepFailure.inGroup(bdf.value(), groupNumber, "cannot list IOMMU group " + groupNumber + ": " + e,
          "check that the sidecar may read " + dir.resolve("iommu_group/devices"), e);
    }
    members.sort((a, b) -> a.bdf().value().compareTo(b.bdf().value()));
    return new HostDevice(bdf, vendor, device, physfn, driver, groupNumber, members);
  }

  HostMdev readMdev(String uuid) {
    Path dir = mdevs.resolve(uuid);
    if (!Files.isDirectory(dir)) {
      throw HostPrepFailure.mdev(uuid, "no such mdev (" + dir + " is missing)", "create it: echo " + uuid
          + " > /sys/class/mdev_bus/PARENT/mdev_supported_types/TYPE/create (ls /sys/bus/mdev/devices lists"
          + " the existing ones)", null);
    }
    Path typeLink = dir.resolve("mdev_type");
    Path typeDir;
    try {
      typeDir = typeLink.toRealPath();
    } catch (IOException e) {
      throw HostPrepFailure.mdev(uuid, "is not a mediated device (no mdev_type link in " + dir + ")",
          "name an mdev of /sys/bus/mdev/devices; a PCI function is attached by bdf", e);
    }
    // mdev_type points into the parent's mdev_supported_types directory: PARENT/mdev_supported_types/TYPE.
    String parent = typeDir.getParent().getParent().getFileName().toString();
    Optional<String> group = linkName(dir.resolve("iommu_group"));
    if (group.isEmpty()) {
      throw HostPrepFailure.mdev(uuid, "has no IOMMU group, so VFIO cannot use it", "check that its parent's"
          + " driver registered it with VFIO (dmesg) and that the vfio modules are loaded (modprobe vfio_iommu_type1)",
          null);
    }
    try {
      return new HostMdev(uuid, typeDir.getFileName().toString(), parent, Integer.parseInt(group.get()));
    } catch (NumberFormatException e) {
      throw HostPrepFailure.mdev(uuid, "iommu_group link ends in '" + group.get() + "', not a group number",
          "check that the sysfs root points at a real sysfs", e);
    }
  }

  Path mdevDir(String uuid) {
    return mdevs.resolve(uuid);
  }

  /** The names of the VFIO cdevs ({@code vfioN}) of the function or mdev at {@code dir}; none before kernel 6.2. */
  List<String> cdevs(Path dir) {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir.resolve("vfio-dev"), "vfio[0-9]*")) {
      ds.forEach(p -> names.add(p.getFileName().toString()));
    } catch (IOException e) {
      return List.of();
    }
    return names;
  }

  Optional<String> driver(Bdf bdf) {
    return linkName(deviceDir(bdf).resolve("driver"));
  }

  Optional<Bdf> virtfn(Bdf pf, int index) {
    return linkName(deviceDir(pf).resolve("virtfn" + index)).map(Bdf::parse);
  }

  private static String hexId(Bdf bdf, Path file) {
    try {
      String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
      return text.startsWith("0x") ? text.substring(2) : text;
    } catch (IOException e) {
      throw HostPrepFailure.of(bdf.value(), "cannot read " + file + ": " + e,
          "check that the sidecar may read sysfs", e);
    }
  }

  private static Optional<String> linkName(Path link) {
    if (!Files.isSymbolicLink(link)) {
      return Optional.empty();
    }
    try {
      Path target = Files.readSymbolicLink(link);
      return Optional.of(target.getFileName().toString());
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
