package io.qmpsidecar.sidecar.migration;

import java.util.List;

/** QEMU would refuse the migration now; {@link #reasons()} are its {@code blocked-reasons}, unchanged. */
public class MigrationBlockedException extends MigrationException {
  private final String vm;
  private final List<String> reasons;

  public MigrationBlockedException(String vm, List<String> reasons) {
    super("QEMU blocks the migration of " + vm + ": " + String.join("; ", reasons)
        + ". Remove the device named in the reason, or detach it with strategy unplug-replug");
    this.vm = vm;
    this.reasons = List.copyOf(reasons);
  }

  public String vm() {
    return vm;
  }

  public List<String> reasons() {
    return reasons;
  }
}
