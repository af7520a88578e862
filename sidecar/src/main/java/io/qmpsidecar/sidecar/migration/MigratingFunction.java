package io.qmpsidecar.sidecar.migration;

import java.util.Objects;

/**
 * A DPU function attached to the migrating VM, and how it goes through the migration.
 *
 * @param spec how to attach it again (source rollback, destination replug)
 * @param strategy chosen by policy or request; {@link Strategy#AUTO} until PREFLIGHT chooses
 * @param vfio true when it is passed through with VFIO (no postcopy then)
 * @param p2pCapable the device supports VFIO P2P migration states (required when several VFIO
 *     functions migrate with QEMU)
 * @param reason why it has this strategy: {@link #REQUESTED}, or what QEMU reported when
 *     PREFLIGHT chose it (empty while {@link Strategy#AUTO})
 */
public record MigratingFunction(DeviceSpec spec, Strategy strategy, boolean vfio, boolean p2pCapable, String reason) {
  /** The reason of a strategy the caller named. */
  public static final String REQUESTED = "requested";

  public MigratingFunction {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(strategy, "strategy");
    Objects.requireNonNull(reason, "reason");
  }

  /** A function with the strategy the caller named, or {@link Strategy#AUTO} for PREFLIGHT to choose. */
  public MigratingFunction(DeviceSpec spec, Strategy strategy, boolean vfio, boolean p2pCapable) {
    this(spec, strategy, vfio, p2pCapable, strategy == Strategy.AUTO ? "" : REQUESTED);
  }

  public String deviceId() {
    return spec.id();
  }

  /** This function with {@code chosen} as its strategy, for {@code why}. */
  MigratingFunction choose(Strategy chosen, String why) {
    return new MigratingFunction(spec, chosen, vfio, p2pCapable, why);
  }

  /**
   * Whether QEMU's text names this function: its id, its {@code host} address (QEMU 8.0+ prefixes
   * a VFIO device's blockers with it) or the last part of its {@code sysfsdev} path (an mdev's
   * UUID, QEMU's name for it).
   */
  boolean namedIn(String text) {
    String host = spec.properties().get("host");
    String sysfsdev = spec.properties().get("sysfsdev");
    String mdev = sysfsdev == null ? null : sysfsdev.substring(sysfsdev.lastIndexOf('/') + 1);
    return text.contains(deviceId()) || host != null && text.contains(host)
        || mdev != null && !mdev.isEmpty() && text.contains(mdev);
  }
}
