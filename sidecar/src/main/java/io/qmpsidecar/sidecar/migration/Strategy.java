package io.qmpsidecar.sidecar.migration;

import java.util.Arrays;

/** How one attached DPU function goes through a live migration. */
public enum Strategy {
  /** The device migrates with QEMU (VFIO migration v2); the DPU follows its device states. */
  VFIO_MIGRATION("vfio-migration"),
  /** Detached before {@code migrate}, attached on the destination after {@code completed}. */
  UNPLUG_REPLUG("unplug-replug"),
  /** A virtio-net failover primary: QEMU unplugs it ({@code wait-unplug}); the DPU follows. */
  FAILOVER("failover"),
  /** Refuses any migration of the VM while the function is attached. */
  BLOCK("block"),
  /**
   * Chosen in PREFLIGHT from what QEMU reports ({@link StrategyChooser}): one of the others,
   * never run as such.
   */
  AUTO("auto");

  private final String wireName;

  Strategy(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in policies, requests and notifications, e.g. {@code unplug-replug}. */
  public String wireName() {
    return wireName;
  }

  /** The strategy named {@code name}; fails naming the valid names. */
  public static Strategy of(String name) {
    return Arrays.stream(values()).filter(s -> s.wireName.equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown migration strategy '" + name
            + "'; use one of vfio-migration, unplug-replug, failover, block, auto"));
  }
}
