package io.qmpsidecar.sidecar.lab;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A running vfio lab as lab/start reported it: the L2 QMP endpoints on the host's loopback, every
 * PCI function and mdev of L1 with its sysfs facts, the VFIO groups L1's init opened, whether L1
 * has IOMMUFD, and L1's control port. Immutable.
 *
 * <p>The L2 QEMUs L1 starts are {@code vm} (hotplug), {@code mig} and {@code mig-dst} (the
 * destination, started with {@code -incoming defer}); tests start more in spare slots through
 * L1's control port ({@link LabL2#start}); {@link #qmp(String)} knows their addresses.
 */
public final class VfioLab {
  private final Map<String, QmpAddress> qmp;
  private final Map<String, Integer> spares;
  private final List<LabFunction> functions;
  private final List<LabMdev> mdevs;
  private final Set<Integer> vfioGroups;
  private final boolean iommufd;
  private final Set<String> qemuVersions;
  private final String kernelRelease;
  private final L1Shell l1;
  private final Duration boot;
  /** L1 QEMU's trace file on this host, if lab/start reported one. */
  private final Path trace;

  private VfioLab(Map<String, QmpAddress> qmp, Map<String, Integer> spares, List<LabFunction> functions,
      List<LabMdev> mdevs, Set<Integer> vfioGroups, boolean iommufd, Set<String> qemuVersions,
      String kernelRelease, L1Shell l1, Duration boot, Path trace) {
    this.qmp = Map.copyOf(qmp);
    this.spares = Map.copyOf(spares);
    this.functions = List.copyOf(functions);
    this.mdevs = List.copyOf(mdevs);
    this.vfioGroups = Set.copyOf(vfioGroups);
    this.iommufd = iommufd;
    this.qemuVersions = Set.copyOf(qemuVersions);
    this.kernelRelease = kernelRelease;
    this.l1 = l1;
    this.boot = boot;
    this.trace = trace;
  }

  /**
   * Parses lab/start's "LAB ..." lines ({@code dev}, {@code mdev}, {@code vfio}, {@code iommufd},
   * {@code kernel}, {@code qemu}, {@code qmp}, {@code spare}, {@code ctl}, {@code boot-ms}); other
   * lines are ignored.
   *
   * @throws IllegalStateException naming what is missing when the report is incomplete
   */
  public static VfioLab parse(List<String> lines) {
    Map<String, QmpAddress> qmp = new HashMap<>();
    Map<String, Integer> spares = new HashMap<>();
    List<LabFunction> functions = new ArrayList<>();
    List<LabMdev> mdevs = new ArrayList<>();
    Set<Integer> groups = new TreeSet<>();
    boolean iommufd = false;
    Set<String> qemus = new TreeSet<>();
    String kernel = null;
    L1Shell l1 = null;
    Duration boot = null;
    Path trace = null;
    for (String line : lines) {
      if (!line.startsWith("LAB ")) {
        continue;
      }
      String[] words = line.substring(4).trim().split(" ");
      Map<String, String> f = fields(words);
      switch (words[0]) {
        case "dev" -> functions.add(new LabFunction(Bdf.parse(f.get("bdf")), hex(f.get("vendor")),
            hex(f.get("device")), dash(f.get("driver")), number(f.get("group")),
            dash(f.get("physfn")) == null ? null : Bdf.parse(f.get("physfn")), number(f.get("vfindex")),
            dash(f.get("cdev")), f.get("role") == null || f.get("role").isEmpty() ? null : f.get("role")));
        case "mdev" -> mdevs.add(new LabMdev(f.get("uuid"), f.get("type"), dash(f.get("parent")),
            number(f.get("group")), dash(f.get("cdev"))));
        case "vfio" -> groups.add(Integer.parseInt(f.get("group")));
        case "iommufd" -> iommufd = dash(f.get("dev")) != null;
        case "kernel" -> kernel = f.get("release");
        case "qemu" -> qemus.add(f.get("version"));
        case "qmp" -> qmp.put(f.get("name"), QmpAddress.parse("tcp:" + f.get("address")));
        case "spare" -> {
          qmp.put(f.get("name"), QmpAddress.parse("tcp:" + f.get("address")));
          spares.put(f.get("name"), Integer.parseInt(f.get("port")));
        }
        case "ctl" -> l1 = new L1Shell(address(f.get("address")), f.get("token"));
        case "trace" -> trace = Path.of(f.get("file"));
        default -> {
          if (words[0].startsWith("boot-ms=")) {
            boot = Duration.ofMillis(Long.parseLong(words[0].substring("boot-ms=".length())));
          }
        }
      }
    }
    for (String l2 : List.of("vm", "mig", "mig-dst")) {
      if (!qmp.containsKey(l2)) {
        throw new IllegalStateException("lab/start reported no QMP address of L2 " + l2
            + "; check lab/start's output and .lab/run/console.log");
      }
    }
    if (functions.isEmpty() || boot == null || l1 == null) {
      throw new IllegalStateException("lab/start reported no PCI functions, no boot time or no control"
          + " port; check .lab/run/console.log");
    }
    return new VfioLab(qmp, spares, functions, mdevs, groups, iommufd, qemus, kernel, l1, boot, trace);
  }

  /**
   * The QMP address on 127.0.0.1 of an L2: {@code vm}, {@code mig}, {@code mig-dst}, or a spare
   * slot ({@link #sparePort}) once a test started an L2 there.
   */
  public QmpAddress qmp(String l2) {
    QmpAddress a = qmp.get(l2);
    if (a == null) {
      throw new IllegalArgumentException("the lab has no L2 named " + l2 + "; it has " + qmp.keySet());
    }
    return a;
  }

  /** From the start of the L1 QEMU until every L2 answered with its QMP greeting. */
  public Duration bootTime() {
    return boot;
  }

  public List<LabFunction> functions() {
    return functions;
  }

  /** The function playing {@code role}; fails naming the roles there are. */
  public LabFunction function(String role) {
    return functions.stream().filter(f -> role.equals(f.role())).findFirst()
        .orElseThrow(() -> new IllegalStateException("L1 reported no function with role " + role
            + "; roles: " + functions.stream().map(LabFunction::role).filter(r -> r != null).toList()));
  }

  /** The VFs of the igb PF in VF index order. */
  public List<LabFunction> vfs() {
    return functions.stream().filter(LabFunction::isVf)
        .sorted((a, b) -> Integer.compare(a.vfIndex(), b.vfIndex())).toList();
  }

  /**
   * L1's QMP port of a spare L2 slot lab/start forwards ({@code msrc}, {@code mdst}, {@code user}),
   * for {@link LabL2#start}.
   */
  public int sparePort(String name) {
    Integer port = spares.get(name);
    if (port == null) {
      throw new IllegalArgumentException("lab/start forwards no spare L2 slot " + name + "; it has " + spares.keySet());
    }
    return port;
  }

  /** The mdevs L1's init created, in creation order (none on the Debian kernel). */
  public List<LabMdev> mdevs() {
    return mdevs;
  }

  /** The {@code index}th mdev; fails naming the kernel when L1 has fewer. */
  public LabMdev mdev(int index) {
    if (index >= mdevs.size()) {
      throw new IllegalStateException("L1 reported " + mdevs.size() + " mdevs, the test needs mdev " + index
          + "; the mtty mdevs exist on the lab v2 kernel only (L1 runs " + kernelRelease + ")");
    }
    return mdevs.get(index);
  }

  /** Whether L1 has {@code /dev/iommu} (IOMMUFD). */
  public boolean hasIommufd() {
    return iommufd;
  }

  /** The L2 QEMU versions L1 has ({@code 7.2}, {@code 10.0}, and {@code 11.1} when lab/build found it). */
  public Set<String> qemuVersions() {
    return qemuVersions;
  }

  /**
   * The QEMU the tests start in spare slots: the system property {@code lab.qemu} (a version
   * {@link #qemuVersions} lists), default {@code 10.0}.
   */
  public String spareQemu() {
    String version = System.getProperty("lab.qemu", "10.0");
    if (!qemuVersions.contains(version)) {
      throw new IllegalStateException("lab.qemu=" + version + " but the lab image has QEMU " + qemuVersions
          + " (11.1 is packed when scripts/setup linked .qemu/11.1)");
    }
    return version;
  }

  /** L1's {@code uname -r}. */
  public String kernelRelease() {
    return kernelRelease;
  }

  /** L1's control port: commands run as root inside L1. */
  public L1Shell l1() {
    return l1;
  }

  /**
   * How many resets of igb VF {@code vfIndex} L1's QEMU traced so far (lab/start's trace file,
   * on this host): the device's own count, whoever reset it.
   */
  public long vfResets(int vfIndex) {
    if (trace == null) {
      throw new IllegalStateException("lab/start reported no trace file (LAB trace); rebuild and restart the lab");
    }
    try (var lines = Files.lines(trace)) {
      return lines.filter(l -> l.endsWith("igb_core_vf_reset VF" + vfIndex)).count();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read L1's trace " + trace, e);
    }
  }

  /** Whether L1 has {@code /dev/vfio/N}. */
  public boolean hasVfioGroup(int group) {
    return vfioGroups.contains(group);
  }

  /**
   * A sysfs and /dev tree under {@code dir} mirroring L1's PCI functions, drivers, IOMMU groups,
   * physfn/virtfn links, mdevs (under their virtual parent {@code /sys/devices/virtual/mtty/mtty},
   * with {@code mdev_type} and {@code iommu_group} links) and /dev/vfio nodes, for the sidecar's
   * host prep: the functions live in L1, the sidecar runs on the host.
   */
  public SysfsTree mirror(Path dir) {
    SysfsTree tree = new SysfsTree(dir);
    for (LabFunction f : functions) {
      if (f.iommuGroup() >= 0) {
        tree.device(f.bdf().value(), f.vendorId(), f.deviceId(), f.iommuGroup(), f.driver());
      }
    }
    for (LabFunction f : vfs()) {
      tree.vf(f.physfn().value(), f.vfIndex(), f.bdf().value());
    }
    for (LabMdev m : mdevs) {
      if (m.parent() != null && m.iommuGroup() >= 0) {
        tree.mdev(m.uuid(), "devices/virtual/" + m.parent() + "/" + m.parent(), m.type(), m.iommuGroup());
      }
    }
    vfioGroups.forEach(tree::devNode);
    return tree;
  }

  private static Map<String, String> fields(String[] words) {
    Map<String, String> f = new HashMap<>();
    for (String w : words) {
      int eq = w.indexOf('=');
      if (eq > 0) {
        f.put(w.substring(0, eq), w.substring(eq + 1));
      }
    }
    return f;
  }

  private static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
  }

  private static String hex(String value) {
    return value.startsWith("0x") ? value.substring(2) : value;
  }

  private static String dash(String value) {
    return value == null || value.equals("-") ? null : value;
  }

  private static int number(String value) {
    return dash(value) == null ? -1 : Integer.parseInt(value);
  }
}
