package io.qmpsidecar.sidecar.lab;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
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
 * PCI function of L1 with its sysfs facts, and the VFIO groups L1's init opened. Immutable.
 *
 * <p>The L2 QEMUs are {@code vm} (hotplug), {@code mig} and {@code mig-dst} (the destination,
 * started with {@code -incoming defer}).
 */
public final class VfioLab {
  private final Map<String, QmpAddress> qmp;
  private final List<LabFunction> functions;
  private final Set<Integer> vfioGroups;
  private final Duration boot;

  private VfioLab(Map<String, QmpAddress> qmp, List<LabFunction> functions, Set<Integer> vfioGroups,
      Duration boot) {
    this.qmp = Map.copyOf(qmp);
    this.functions = List.copyOf(functions);
    this.vfioGroups = Set.copyOf(vfioGroups);
    this.boot = boot;
  }

  /**
   * Parses lab/start's "LAB ..." lines ({@code dev}, {@code vfio}, {@code qmp}, {@code boot-ms});
   * other lines are ignored.
   *
   * @throws IllegalStateException naming what is missing when the report is incomplete
   */
  public static VfioLab parse(List<String> lines) {
    Map<String, QmpAddress> qmp = new HashMap<>();
    List<LabFunction> functions = new ArrayList<>();
    Set<Integer> groups = new TreeSet<>();
    Duration boot = null;
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
            f.get("role") == null || f.get("role").isEmpty() ? null : f.get("role")));
        case "vfio" -> groups.add(Integer.parseInt(f.get("group")));
        case "qmp" -> qmp.put(f.get("name"), QmpAddress.parse("tcp:" + f.get("address")));
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
    if (functions.isEmpty() || boot == null) {
      throw new IllegalStateException("lab/start reported no PCI functions or no boot time;"
          + " check .lab/run/console.log");
    }
    return new VfioLab(qmp, functions, groups, boot);
  }

  /** The QMP address of an L2 ({@code vm}, {@code mig} or {@code mig-dst}) on 127.0.0.1. */
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

  /** Whether L1 has {@code /dev/vfio/N}. */
  public boolean hasVfioGroup(int group) {
    return vfioGroups.contains(group);
  }

  /**
   * A sysfs and /dev tree under {@code dir} mirroring L1's PCI functions, drivers, IOMMU groups,
   * physfn/virtfn links and /dev/vfio nodes, for the sidecar's host prep: the functions live in
   * L1, the sidecar runs on the host.
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
