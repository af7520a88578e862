package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import java.util.Objects;

/**
 * The host PCI function to pass through: either its address, or a PF and a VF index resolved
 * through sysfs ({@code virtfnN}).
 */
public record FunctionRef(Bdf bdf, Bdf pf, int vfIndex) {

  public FunctionRef {
    if ((bdf == null) == (pf == null)) {
      throw new IllegalArgumentException("name the function either by BDF or by PF and VF index");
    }
    if (pf != null && vfIndex < 0) {
      throw new IllegalArgumentException("VF index must be >= 0, got " + vfIndex);
    }
  }

  public static FunctionRef of(Bdf bdf) {
    return new FunctionRef(Objects.requireNonNull(bdf, "bdf"), null, 0);
  }

  public static FunctionRef vf(Bdf pf, int vfIndex) {
    return new FunctionRef(null, Objects.requireNonNull(pf, "pf"), vfIndex);
  }

  @Override
  public String toString() {
    return bdf != null ? bdf.value() : "VF " + vfIndex + " of " + pf;
  }
}
