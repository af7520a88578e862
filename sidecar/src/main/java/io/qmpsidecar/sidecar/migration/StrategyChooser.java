package io.qmpsidecar.sidecar.migration;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Chooses the strategy of each {@link Strategy#AUTO} function from QEMU's {@code blocked-reasons}
 * in PREFLIGHT. QEMU decides at {@code device_add} whether a VFIO device can migrate its state
 * (the kernel driver offers VFIO migration v2 with STOP_COPY, and, unless
 * {@code enable-migration=on}, dirty tracking) and adds a blocker naming the device when it
 * cannot; with {@code enable-migration=on} such a device is not realized at all. So:
 *
 * <ul>
 *   <li>a {@code failover_pair_id} (a standby is configured): {@code failover};
 *   <li>a blocker naming the function, or a VFIO blocker naming no device it can be told by (QEMU
 *       7.2, which has no VFIO migration v2; several VFIO devices not all P2P-capable; a device
 *       QEMU 10.0 calls {@code VFIO_FDn} because it was passed by descriptor) for a VFIO function:
 *       {@code unplug-replug}, QEMU's text as the reason;
 *   <li>otherwise {@code vfio-migration}: QEMU migrates the device's state.
 * </ul>
 */
final class StrategyChooser {
  /** QEMU 8.0+ prefixes a device's own blockers with its name and a colon. */
  private static final Pattern NAMED = Pattern.compile("^\\S+: ");
  /** QEMU 10.0's name for a device passed by descriptor, which says nothing about which it is. */
  private static final Pattern BY_DESCRIPTOR = Pattern.compile("^VFIO_FD[0-9]+: ");

  private StrategyChooser() {}

  /** {@code functions} with every {@link Strategy#AUTO} replaced by its choice and the reason. */
  static List<MigratingFunction> choose(List<MigratingFunction> functions, List<String> blockedReasons) {
    return functions.stream().map(f -> f.strategy() == Strategy.AUTO ? choose(f, blockedReasons) : f).toList();
  }

  /**
   * Whether QEMU's blocker concerns VFIO devices without saying which (then it may be any of
   * them): it names no device (QEMU 7.2), or a device passed by descriptor ({@code VFIO_FDn}).
   */
  static boolean namesNoVfioDevice(String reason) {
    return reason.contains("VFIO") && (!NAMED.matcher(reason).find() || BY_DESCRIPTOR.matcher(reason).find());
  }

  private static MigratingFunction choose(MigratingFunction f, List<String> blockedReasons) {
    String standby = f.spec().properties().get("failover_pair_id");
    if (standby != null) {
      return f.choose(Strategy.FAILOVER, "a failover standby is configured (failover_pair_id=" + standby
          + "): QEMU unplugs the primary itself");
    }
    Optional<String> named = blockedReasons.stream().filter(f::namedIn).findFirst();
    if (named.isPresent()) {
      return f.choose(Strategy.UNPLUG_REPLUG, "QEMU: " + named.get());
    }
    Optional<String> generic = f.vfio() ? blockedReasons.stream().filter(StrategyChooser::namesNoVfioDevice).findFirst()
        : Optional.empty();
    if (generic.isPresent()) {
      return f.choose(Strategy.UNPLUG_REPLUG, "QEMU: " + generic.get() + " (names no device it can be told by, so"
          + " it may be " + f.deviceId() + ")");
    }
    return f.choose(Strategy.VFIO_MIGRATION, "QEMU reports no migration blocker for " + f.deviceId()
        + ": its state migrates with QEMU");
  }
}
