package io.qmpsidecar.sidecar.migration;

import java.util.Objects;

/**
 * A DPU function attached to the migrating VM, and how it goes through the migration.
 *
 * @param spec how to attach it again (source rollback, destination replug)
 * @param strategy chosen by policy or request
 * @param vfio true when it is passed through with VFIO (no postcopy then)
 * @param p2pCapable the device supports VFIO P2P migration states (required when several VFIO
 *     functions migrate with QEMU)
 */
public record MigratingFunction(DeviceSpec spec, Strategy strategy, boolean vfio, boolean p2pCapable) {
  public MigratingFunction {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(strategy, "strategy");
  }

  public String deviceId() {
    return spec.id();
  }
}
