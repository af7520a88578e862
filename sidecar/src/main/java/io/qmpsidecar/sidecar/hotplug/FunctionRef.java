package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The host device to pass through: a PCI function by its address, or a PF and a VF index resolved
 * through sysfs ({@code virtfnN}), or a mediated device (mdev) by its UUID.
 *
 * @param mdev the mdev's UUID, lower case (its name under {@code /sys/bus/mdev/devices/}), else null
 */
public record FunctionRef(Bdf bdf, Bdf pf, int vfIndex, String mdev) {
  private static final Pattern UUID =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  public FunctionRef {
    int named = (bdf != null ? 1 : 0) + (pf != null ? 1 : 0) + (mdev != null ? 1 : 0);
    if (named != 1) {
      throw new IllegalArgumentException("name the device either by BDF, by PF and VF index, or by mdev UUID");
    }
    if (pf != null && vfIndex < 0) {
      throw new IllegalArgumentException("VF index must be >= 0, got " + vfIndex);
    }
    if (mdev != null) {
      mdev = mdev.toLowerCase(Locale.ROOT);
      if (!UUID.matcher(mdev).matches()) {
        throw new IllegalArgumentException("invalid mdev '" + mdev + "': a UUID like"
            + " 88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10, its name under /sys/bus/mdev/devices");
      }
    }
  }

  public static FunctionRef of(Bdf bdf) {
    return new FunctionRef(Objects.requireNonNull(bdf, "bdf"), null, 0, null);
  }

  public static FunctionRef vf(Bdf pf, int vfIndex) {
    return new FunctionRef(null, Objects.requireNonNull(pf, "pf"), vfIndex, null);
  }

  /** The mdev {@code uuid} ({@code /sys/bus/mdev/devices/UUID}); upper case is accepted. */
  public static FunctionRef mdev(String uuid) {
    return new FunctionRef(null, null, 0, Objects.requireNonNull(uuid, "uuid"));
  }

  @Override
  public String toString() {
    if (mdev != null) {
      return "mdev " + mdev;
    }
    return bdf != null ? bdf.value() : "VF " + vfIndex + " of " + pf;
  }
}
