package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Plays the kernel's part on a {@link SysfsTree}: records every write (as
 * {@code relative/path=value}) and acts on {@code unbind} and {@code drivers_probe} like the PCI
 * core does: a probe binds {@code driver_override} if set, else the function's default driver.
 */
public final class FakeKernel implements SysfsWriter {
  private final SysfsTree tree;
  private final List<String> writes = new CopyOnWriteArrayList<>();
  private final Map<String, String> defaultDrivers = new ConcurrentHashMap<>();
  private volatile boolean vfioCreatesDevNodes = true;
  private volatile String refusedDriver;

  public FakeKernel(SysfsTree tree) {
    this.tree = tree;
  }

  /** The driver a probe binds when no override is set. */
  public FakeKernel defaultDriver(String bdf, String driver) {
    defaultDrivers.put(bdf, driver);
    return this;
  }

  /** Whether binding to a vfio driver creates {@code /dev/vfio/N} (default true). */
  public FakeKernel vfioCreatesDevNodes(boolean create) {
    this.vfioCreatesDevNodes = create;
    return this;
  }

  /** A driver whose probe fails (as when its module is not loaded). */
  public FakeKernel refuse(String driver) {
    this.refusedDriver = driver;
    return this;
  }

  public List<String> writes() {
    return List.copyOf(writes);
  }

  @Override
  public void write(Path file, String value) throws IOException {
    String rel = tree.sys().relativize(file).toString();
    writes.add(rel + "=" + value.trim());
    Files.writeString(file, value);
    String name = file.getFileName().toString();
    if (name.equals("unbind")) {
      Files.deleteIfExists(tree.sys().resolve("bus/pci/devices").resolve(value.trim()).resolve("driver"));
    } else if (name.equals("drivers_probe")) {
      probe(value.trim());
    }
  }

  private void probe(String bdf) throws IOException {
    Path dir = tree.sys().resolve("bus/pci/devices").resolve(bdf);
    if (Files.isSymbolicLink(dir.resolve("driver"))) {
      return;
    }
    String override = Files.readString(dir.resolve("driver_override")).trim();
    String driver = override.isEmpty() || override.equals("(null)") ? defaultDrivers.get(bdf) : override;
    if (driver == null || driver.equals(refusedDriver)) {
      return;
    }
    tree.bind(bdf, driver);
    if (driver.contains("vfio") && vfioCreatesDevNodes) {
      String group = Files.readSymbolicLink(dir.resolve("iommu_group")).getFileName().toString();
      tree.devNode(Integer.parseInt(group));
    }
  }
}
