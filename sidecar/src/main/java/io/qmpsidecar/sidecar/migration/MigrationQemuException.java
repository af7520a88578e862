package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.QmpCommandException;

/** QEMU refused a migration command; keeps QEMU's error class and text. */
public class MigrationQemuException extends MigrationException {
  private final String command;
  private final String errorClass;
  private final String description;

  public MigrationQemuException(String vm, QmpCommandException e) {
    super("QEMU of " + vm + " refused " + e.command() + ": " + e.errorClass() + ": " + e.description(), e);
    this.command = e.command();
    this.errorClass = e.errorClass();
    this.description = e.description();
  }

  public String command() {
    return command;
  }

  /** QEMU's error class, e.g. {@code GenericError}. */
  public String errorClass() {
    return errorClass;
  }

  /** QEMU's error text, unchanged. */
  public String description() {
    return description;
  }
}
