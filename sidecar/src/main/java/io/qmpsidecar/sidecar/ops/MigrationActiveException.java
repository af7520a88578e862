package io.qmpsidecar.sidecar.ops;

/** The VM is migrating: QEMU refuses hotplug then ("device_add not allowed while migrating"). */
public class MigrationActiveException extends OperationException {
  private final String status;

  public MigrationActiveException(String vm, String status) {
    super("VM " + vm + " is migrating (status " + status + "); QEMU refuses hotplug while"
        + " migrating: wait for the migration to finish or cancel it (migrate_cancel), then retry");
    this.status = status;
  }

  /** QEMU's migration status when the operation was refused. */
  public String status() {
    return status;
  }
}
