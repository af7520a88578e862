package io.qmpsidecar.sidecar.hostprep;

import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Prepares host PCI functions and mediated devices for {@code vfio-pci} against a configurable sysfs root and
 * {@code /dev} root. All file I/O runs on Vert.x worker threads; every failure is a
 * {@link io.qmpsidecar.sidecar.failure.SidecarException} ({@code HOST_PREREQUISITE}) naming the function, the problem and the fix.
 *
 * <p>Binding uses {@code driver_override}, then {@code unbind} from the old driver, then
 * {@code drivers_probe}, never {@code new_id} (which would claim every device with that id).
 */
public final class SysfsHostPrep {
  private final Vertx vertx;
  private final Path sysfsRoot;
  private final Path devRoot;
  private final Path procRoot = Path.of("/proc");
  private final SysfsWriter writer;
  private final SysfsReader reader;
  private final Set<String> drivers;
  private final boolean iommufd;

  /** The VFIO driver every host has. */
  public static final String VFIO_PCI = "vfio-pci";

  /**
   * @param sysfsRoot normally {@code /sys}
   * @param devRoot normally {@code /dev}
   * @param writer how attributes are written ({@link SysfsWriter#DIRECT} on a real host)
   */
  public SysfsHostPrep(Vertx vertx, Path sysfsRoot, Path devRoot, SysfsWriter writer) {
    this(vertx, sysfsRoot, devRoot, writer, Set.of());
  }

  /**
   * @param variantDrivers VFIO variant drivers a function may be bound to besides
   *     {@value #VFIO_PCI} (e.g. {@code mlx5_vfio_pci}); no other driver name is ever written
   */
  public SysfsHostPrep(Vertx vertx, Path sysfsRoot, Path devRoot, SysfsWriter writer, Set<String> variantDrivers) {
    this(vertx, sysfsRoot, devRoot, writer, variantDrivers, true);
  }

  /**
   * @param iommufd whether functions may be passed to QEMU through IOMMUFD where the kernel offers
   *     it ({@code host.iommufd: auto}); false: always the group path ({@code off})
   */
  public SysfsHostPrep(Vertx vertx, Path sysfsRoot, Path devRoot, SysfsWriter writer, Set<String> variantDrivers,
      boolean iommufd) {
    this.iommufd = iommufd;
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.sysfsRoot = Objects.requireNonNull(sysfsRoot, "sysfsRoot");
    this.devRoot = Objects.requireNonNull(devRoot, "devRoot");
    this.writer = Objects.requireNonNull(writer, "writer");
    this.reader = new SysfsReader(sysfsRoot);
    Set<String> allowed = new TreeSet<>(variantDrivers);
    allowed.add(VFIO_PCI);
    this.drivers = Collections.unmodifiableSet(allowed);
  }

  /**
   * The privileged helper's answer to whether QEMU still holds a function's VFIO nodes, for a
   * sidecar that may not read QEMU's descriptors: present when host prep goes through the helper.
   */
  public Optional<HelperReleaseCheck> releaseCheck() {
    return writer.releaseCheck(devRoot);
  }

  /** The host drivers a function may be bound to: {@value #VFIO_PCI} and the configured variants. */
  public Set<String> drivers() {
    return drivers;
  }

  /**
   * Refuses a host driver that is not {@value #VFIO_PCI} or a configured variant, before anything
   * is read or written: a caller's text never reaches sysfs.
   *
   * @throws SidecarException {@code INVALID} ({@code bad-request}) naming the allowed drivers
   */
  public void checkDriver(String driver) {
    if (driver != null && !drivers.contains(driver)) {
      throw Failures.badRequest("hostDriver '" + driver + "' is not allowed: use one of " + drivers
          + " (VFIO variant drivers are added with host.vfioDrivers in the sidecar's configuration)");
    }
  }

  /**
   * The VF number {@code vfIndex} of {@code pf} (its {@code virtfnN} link).
   *
   * @return fails with {@link io.qmpsidecar.sidecar.failure.SidecarException} ({@code HOST_PREREQUISITE}) when the PF or that VF does not exist
   */
  public Future<Bdf> resolveVf(Bdf pf, int vfIndex) {
    return vertx.executeBlocking(() -> {
      if (!Files.isDirectory(reader.deviceDir(pf))) {
        throw HostPrepFailure.of(pf.value(), "no such PCI device (the PF is missing)",
            "check the PF address with lspci -D");
      }
      return reader.virtfn(pf, vfIndex).orElseThrow(() -> HostPrepFailure.of(pf.value(),
          "has no VF " + vfIndex + " (no virtfn" + vfIndex + " link)",
          "create VFs with: echo N > " + reader.deviceDir(pf).resolve("sriov_numvfs")
              + " (N > " + vfIndex + ")"));
    });
  }

  /** Reads the function's facts without changing anything; fails with {@link io.qmpsidecar.sidecar.failure.SidecarException} ({@code HOST_PREREQUISITE}). */
  public Future<HostDevice> inspect(Bdf bdf) {
    return vertx.executeBlocking(() -> reader.read(bdf));
  }

  /**
   * Reads the mdev's facts ({@code /sys/bus/mdev/devices/UUID}: its type, parent and IOMMU group)
   * without changing anything.
   *
   * @return fails with {@link SidecarException} ({@code HOST_PREREQUISITE}, detail {@code mdev})
   *     when there is no such mdev, the UUID names no mediated device, or it has no IOMMU group
   */
  public Future<HostMdev> inspectMdev(String uuid) {
    return vertx.executeBlocking(() -> reader.readMdev(uuid));
  }

  /**
   * Why this host cannot pass functions to QEMU through IOMMUFD, or empty when it can: the kernel
   * has {@code /dev/iommu} and VFIO cdevs ({@code /sys/class/vfio-dev}), the sidecar may open
   * {@code /dev/iommu} (it opens the nodes and passes them to QEMU), and {@code host.iommufd} is
   * not {@code off}. Read without changing anything.
   */
  public Future<Optional<String>> iommufdUnavailable() {
    return vertx.executeBlocking(() -> {
      Path iommu = devRoot.resolve("iommu");
      if (!iommufd) {
        return Optional.of("host.iommufd is off");
      }
      if (!Files.exists(iommu)) {
        return Optional.of("the kernel has no " + iommu + " (CONFIG_IOMMUFD)");
      }
      if (!Files.isDirectory(sysfsRoot.resolve("class/vfio-dev"))) {
        return Optional.of("the kernel has no VFIO cdevs (no " + sysfsRoot.resolve("class/vfio-dev")
            + ": CONFIG_VFIO_DEVICE_CDEV)");
      }
      if (!Files.isReadable(iommu) || !Files.isWritable(iommu)) {
        return Optional.of("the sidecar may not open " + iommu + " (give its user access to it and to "
            + devRoot.resolve("vfio/devices") + ", e.g. with a udev rule)");
      }
      return Optional.empty();
    });
  }

  /** The node QEMU's iommufd object is given: {@code /dev/iommu}. */
  public Path iommuNode() {
    return devRoot.resolve("iommu");
  }

  /**
   * The VFIO cdev of a function bound to a VFIO driver, or of an mdev: {@code /dev/vfio/devices/vfioN}
   * as its {@code vfio-dev} directory names it.
   *
   * @param bdf the PCI function, or null for an mdev
   * @param mdevUuid the mdev, when {@code bdf} is null
   * @return fails with {@link SidecarException} ({@code HOST_PREREQUISITE}) when it has none, or
   *     the sidecar may not open it
   */
  public Future<Path> cdev(Bdf bdf, String mdevUuid) {
    return vertx.executeBlocking(() -> {
      String name = bdf != null ? bdf.value() : mdevUuid;
      List<String> cdevs = reader.cdevs(bdf != null ? reader.deviceDir(bdf) : reader.mdevDir(mdevUuid));
      BiFunction<String, String, SidecarException> failure = bdf != null ? (problem, fix) -> HostPrepFailure.of(name,
          problem, fix) : (problem, fix) -> HostPrepFailure.mdev(name, problem, fix, null);
      if (cdevs.isEmpty()) {
        throw failure.apply("has no VFIO cdev (no vfio-dev/vfioN in sysfs) although the kernel has IOMMUFD",
            "check that it is bound to a VFIO driver (dmesg), or set host.iommufd: off");
      }
      Path node = devRoot.resolve("vfio/devices").resolve(cdevs.get(0));
      if (!Files.isReadable(node) || !Files.isWritable(node)) {
        throw failure.apply("the sidecar may not open " + node + " to pass it to QEMU", "give the sidecar's user"
            + " access to " + devRoot.resolve("vfio/devices") + " (a udev rule), or set host.iommufd: off");
      }
      return node;
    });
  }

  /**
   * The device nodes through which QEMU holds a VFIO function or mdev: its group's
   * {@code /dev/vfio/N} and, where the kernel has VFIO cdevs, its {@code /dev/vfio/devices/vfioN}.
   * Read from sysfs without changing anything.
   *
   * @param bdf the PCI function, or null for an mdev
   * @param mdevUuid the mdev, when {@code bdf} is null
   * @param groupInUse whether another function of the group is still in use by the same QEMU:
   *     then the group's node stays open on its account and is left out
   * @return fails with {@link SidecarException} ({@code HOST_PREREQUISITE}) when sysfs has no such
   *     function any more
   */
  public Future<List<Path>> vfioNodes(Bdf bdf, String mdevUuid, Predicate<Bdf> groupInUse) {
    return vertx.executeBlocking(() -> {
      List<Path> nodes = new ArrayList<>();
      Path dir;
      if (bdf != null) {
        HostDevice device = reader.read(bdf);
        if (device.group().stream().noneMatch(m -> groupInUse.test(m.bdf()))) {
          nodes.add(groupNode(device.iommuGroup()));
        }
        dir = reader.deviceDir(bdf);
      } else {
        nodes.add(groupNode(reader.readMdev(mdevUuid).iommuGroup()));
        dir = reader.mdevDir(mdevUuid);
      }
      reader.cdevs(dir).forEach(name -> nodes.add(devRoot.resolve("vfio/devices").resolve(name)));
      return List.copyOf(nodes);
    });
  }

  /**
   * Checks that QEMU can open the mdev's {@code /dev/vfio/N}; nothing is rebound (an mdev belongs
   * to its parent's driver).
   *
   * @return fails with {@link SidecarException} ({@code HOST_PREREQUISITE}) naming the fix
   */
  public Future<HostMdev> prepareMdev(HostMdev mdev) {
    return prepareMdev(mdev, NodeCheck.SIDECAR);
  }

  /**
   * {@link #prepareMdev(HostMdev)}, checking the group's node as {@code check} says (see
   * {@link #prepare(HostDevice, String, NodeCheck)}).
   */
  public Future<HostMdev> prepareMdev(HostMdev mdev, NodeCheck check) {
    return vertx.executeBlocking(() -> {
      checkDeviceNode(mdev.iommuGroup(), check,
          (problem, fix) -> HostPrepFailure.mdevInGroup(mdev.uuid(), mdev.iommuGroup(), problem, fix),
          "check that the mdev's parent driver registered it with VFIO (dmesg) and that vfio is loaded");
      return mdev;
    });
  }

  /**
   * Makes the function usable by QEMU: refuses a group with a device bound to a non-VFIO
   * driver, binds the function to {@code driver} when it is bound to anything else, and checks
   * {@code /dev/vfio/N}. When the device node check fails after a rebind, the old driver is
   * restored before failing.
   *
   * @param driver the VFIO driver to bind ({@code vfio-pci} or a variant), or null to require
   *     that the function is already bound to a VFIO driver
   */
  public Future<PreparedHost> prepare(HostDevice device, String driver) {
    return prepare(device, driver, NodeCheck.SIDECAR);
  }

  /**
   * {@link #prepare(HostDevice, String)}, checking {@code /dev/vfio/N} as {@code check} says: with
   * the rights of the QEMU that will open it (its ids and groups from {@code /proc/PID/status}
   * where this user may read them), so that a sidecar that runs unprivileged beside a QEMU run as
   * root does not refuse a node only root can open, and where QEMU's rights cannot be told (its
   * supplementary groups unreadable and only they would grant it) nothing is refused: QEMU's own
   * error names the node; with the sidecar's own rights; or not at all (IOMMUFD: QEMU opens no
   * group node).
   */
  public Future<PreparedHost> prepare(HostDevice device, String driver, NodeCheck check) {
    try {
      checkDriver(driver);
    } catch (SidecarException e) {
      return Future.failedFuture(e);
    }
    return vertx.executeBlocking(() -> {
      String bdf = device.bdf().value();
      if (driver != null && !Files.isDirectory(sysfsRoot.resolve("bus/pci/drivers").resolve(driver))) {
        throw HostPrepFailure.of(bdf, "cannot be bound to " + driver + ": the driver is not loaded (no "
            + sysfsRoot.resolve("bus/pci/drivers").resolve(driver) + ")", "load it: modprobe " + driver.replace('-', '_'));
      }
      if (!device.groupExclusive()) {
        throw HostPrepFailure.inGroup(bdf, device.iommuGroup(), "IOMMU group " + device.iommuGroup() + " also holds "
            + device.foreignGroupMembers().stream()
                .map(m -> m.bdf() + " (bound to " + m.driver().orElse("?") + ")")
                .collect(Collectors.joining(", "))
            + ", and QEMU can only take a whole group",
            "bind those devices to vfio-pci or unbind them, or use a function in an isolated group", null);
      }
      Optional<String> current = device.driver();
      boolean rebind = driver != null && !current.equals(Optional.of(driver));
      if (!rebind && !current.map(GroupMember::isVfioSafeDriver).orElse(false)) {
        throw HostPrepFailure.of(bdf, "is bound to " + current.orElse("no driver")
            + ", not to a VFIO driver", "ask for a host driver to bind (e.g. vfio-pci) or bind it"
            + " yourself: echo vfio-pci > " + reader.deviceDir(device.bdf()).resolve("driver_override"));
      }
      String bound = current.orElse(driver);
      if (rebind) {
        bind(device.bdf(), driver, current);
        bound = driver;
      }
      try {
        checkDeviceNode(device, check);
      } catch (SidecarException e) {
        if (!rebind) {
          throw e;
        }
        restoreBlocking(device.bdf(), current);
        throw e.withRollback(List.of("host driver of " + bdf + " restored to " + current.orElse("none")));
      }
      return new PreparedHost(device, bound, current, rebind);
    });
  }

  /**
   * Binds the function back to {@code previousDriver} (or leaves it unbound when empty) and
   * clears {@code driver_override}.
   */
  public Future<Void> restore(Bdf bdf, Optional<String> previousDriver) {
    return vertx.executeBlocking(() -> {
      restoreBlocking(bdf, previousDriver);
      return null;
    });
  }

  private void bind(Bdf bdf, String driver, Optional<String> current) {
    Path dir = reader.deviceDir(bdf);
    write(bdf, dir.resolve("driver_override"), driver);
    if (current.isPresent()) {
      write(bdf, dir.resolve("driver/unbind"), bdf.value());
    }
    write(bdf, sysfsRoot.resolve("bus/pci/drivers_probe"), bdf.value());
    Optional<String> now = reader.driver(bdf);
    if (!now.equals(Optional.of(driver))) {
      restoreBlocking(bdf, current);
      throw HostPrepFailure.of(bdf.value(), "did not bind to " + driver + " (bound to "
          + now.orElse("no driver") + " after drivers_probe; old driver "
          + current.orElse("none") + " restored)", "load the driver (modprobe "
          + driver.replace('-', '_') + ") and check dmesg");
    }
  }

  private void restoreBlocking(Bdf bdf, Optional<String> previousDriver) {
    Path dir = reader.deviceDir(bdf);
    write(bdf, dir.resolve("driver_override"), previousDriver.orElse("\n"));
    if (reader.driver(bdf).isPresent()) {
      write(bdf, dir.resolve("driver/unbind"), bdf.value());
    }
    if (previousDriver.isPresent()) {
      write(bdf, sysfsRoot.resolve("bus/pci/drivers_probe"), bdf.value());
      write(bdf, dir.resolve("driver_override"), "\n");
    }
  }

  private void checkDeviceNode(HostDevice device, NodeCheck check) {
    checkDeviceNode(device.iommuGroup(), check,
        (problem, fix) -> HostPrepFailure.inGroup(device.bdf().value(), device.iommuGroup(), problem, fix, null),
        "load vfio-pci (modprobe vfio_pci) and check that the function is bound to it");
  }

  private void checkDeviceNode(int group, NodeCheck check, BiFunction<String, String, SidecarException> failure,
      String missingFix) {
    Path node = groupNode(group);
    if (!Files.exists(node)) {
      throw failure.apply(node + " does not exist", missingFix);
    }
    String fix = "give QEMU's user access to it (chown or a udev rule for /dev/vfio/*)";
    if (check.kind() == NodeCheck.Kind.NONE) {
      return;
    }
    if (check.kind() == NodeCheck.Kind.SIDECAR) {
      if (!Files.isReadable(node) || !Files.isWritable(node)) {
        throw failure.apply(node + " is not readable and writable", fix);
      }
      return;
    }
    Optional<String> denied;
    try {
      denied = NodeAccess.deniedTo(node, check.qemu(), procRoot);
    } catch (UncheckedIOException e) {
      throw failure.apply(e.getMessage(), "check that the sidecar may read " + node.getParent());
    }
    if (denied.isPresent()) {
      throw failure.apply(denied.get(), fix);
    }
  }

  private Path groupNode(int group) {
    return devRoot.resolve("vfio").resolve(Integer.toString(group));
  }

  private void write(Bdf bdf, Path file, String value) {
    try {
      writer.write(file, value);
    } catch (IOException e) {
      throw HostPrepFailure.of(bdf.value(), "writing '" + value.trim() + "' to " + file
          + " failed: " + e.getMessage(), writer.fix(), e);
    }
  }
}
