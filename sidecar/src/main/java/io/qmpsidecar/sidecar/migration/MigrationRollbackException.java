package io.qmpsidecar.sidecar.migration;

import java.util.List;

/**
 * Undoing a failed migration failed too. {@link #vmState()} is the source VM's run state as last
 * queried and {@link #detachedDevices()} the functions that are still not attached: re-attach
 * them (and {@code cont} the VM if it is paused) by hand.
 */
public class MigrationRollbackException extends MigrationException {
  private final String vmState;
  private final List<String> detachedDevices;

  public MigrationRollbackException(String vm, String vmState, List<String> detachedDevices, Throwable cause) {
    super("rollback of the migration of " + vm + " failed: VM is " + vmState
        + (detachedDevices.isEmpty() ? "" : ", still detached: " + String.join(", ", detachedDevices))
        + " (" + cause.getMessage() + "); re-attach the functions and resume the VM by hand", cause);
    this.vmState = vmState;
    this.detachedDevices = List.copyOf(detachedDevices);
  }

  public String vmState() {
    return vmState;
  }

  public List<String> detachedDevices() {
    return detachedDevices;
  }
}
