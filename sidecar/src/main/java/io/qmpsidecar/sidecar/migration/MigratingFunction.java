package io.qmpsidecar.sidecar.migration;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A DPU function attached to the migrating VM, and how it goes through the migration.
 *
 * @param spec how to attach it again (source rollback, destination replug)
 * @param strategy chosen by policy or request; {@link Strategy#AUTO} until PREFLIGHT chooses
 * @param vfio true when it is passed through with VFIO (no postcopy then)
 * @param reason why it has this strategy: {@link #REQUESTED}, or what QEMU reported when
 *     PREFLIGHT chose it (empty while {@link Strategy#AUTO})
 */
public record MigratingFunction(DeviceSpec spec, Strategy strategy, boolean vfio, String reason) {
  /** The reason of a strategy the caller named. */
  public static final String REQUESTED = "requested";

  public MigratingFunction {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(strategy, "strategy");
    Objects.requireNonNull(reason, "reason");
  }

  /** A function with the strategy the caller named, or {@link Strategy#AUTO} for PREFLIGHT to choose. */
  public MigratingFunction(DeviceSpec spec, Strategy strategy, boolean vfio) {
    this(spec, strategy, vfio, strategy == Strategy.AUTO ? "" : REQUESTED);
  }

  public String deviceId() {
    return spec.id();
  }

  /** This function with {@code chosen} as its strategy, for {@code why}. */
  MigratingFunction choose(Strategy chosen, String why) {
    return new MigratingFunction(spec, chosen, vfio, why);
  }

  /**
   * Whether QEMU's text names this function: its id, its {@code host} address (QEMU 8.0+ prefixes
   * a VFIO device's blockers with it) or the last part of its {@code sysfsdev} path (an mdev's
   * UUID, QEMU's name for it), as a whole name: {@code vf1} is not named by {@code vf10}, nor
   * {@code 0000:03:10.1} by {@code 0000:03:10.10}.
   */
  boolean namedIn(String text) {
    return names().stream().anyMatch(name -> Pattern.compile("(?<![A-Za-z0-9._:-])" + Pattern.quote(name)
        + "(?![A-Za-z0-9._-]|:[0-9a-fA-F])").matcher(text).find());
  }

  /** The names QEMU may give this function in its texts: its id, host address and mdev UUID. */
  private List<String> names() {
    List<String> names = new ArrayList<>(List.of(deviceId()));
    String host = spec.properties().get("host");
    if (host != null) {
      names.add(host);
    }
    String sysfsdev = spec.properties().get("sysfsdev");
    String mdev = sysfsdev == null ? "" : sysfsdev.substring(sysfsdev.lastIndexOf('/') + 1);
    if (!mdev.isEmpty()) {
      names.add(mdev);
    }
    return names;
  }
}
