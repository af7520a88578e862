package io.qmpsidecar.sidecar.migration;

/** Which end of a migration a monitored QEMU is. */
public enum MigrationRole {
  SOURCE,
  DESTINATION
}
