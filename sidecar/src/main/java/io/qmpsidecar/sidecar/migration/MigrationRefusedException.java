package io.qmpsidecar.sidecar.migration;

import java.util.List;

/**
 * The sidecar refuses the migration before anything changed: a function's strategy forbids it
 * ({@code block}), postcopy was asked with VFIO functions, several VFIO functions are not all
 * P2P-capable, or the URI is not allowed.
 */
public class MigrationRefusedException extends MigrationException {
  private final String vm;
  private final List<String> devices;

  public MigrationRefusedException(String vm, List<String> devices, String why) {
    super("migration of " + vm + " refused: " + why);
    this.vm = vm;
    this.devices = List.copyOf(devices);
  }

  public String vm() {
    return vm;
  }

  /** The functions that caused the refusal; empty when the request itself was refused. */
  public List<String> devices() {
    return devices;
  }
}
