package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.QmpConnection;
import java.util.Objects;

/**
 * One end of a coordinated migration: the VM's name, its QMP connection and how functions are
 * attached to it. {@code hotplug} may be null when no function uses {@code unplug-replug}.
 */
public record MigrationEndpoint(String vm, QmpConnection connection, FunctionHotplug hotplug) {
  public MigrationEndpoint {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(connection, "connection");
  }
}
