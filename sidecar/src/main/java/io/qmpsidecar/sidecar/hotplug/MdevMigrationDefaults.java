package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import java.time.Duration;

/**
 * An mdev is attached to migrate its device state: {@code enable-migration=on} and
 * {@code migration-events=on} unless the caller chose otherwise, where the VM's QEMU has them
 * ({@code vfio-pci} of 8.1+ and 9.1+; QEMU 7.2 has neither, only the experimental
 * {@code x-enable-migration}, which is left alone). QEMU says which it has through
 * {@code device-list-properties}.
 */
final class MdevMigrationDefaults {
  private MdevMigrationDefaults() {}

  /**
   * @return {@code options} with each of {@code enableMigration} and {@code migrationEvents} that
   *     the caller left unset turned on when QEMU's {@code vfio-pci} has it; fails with QEMU's
   *     error or a timeout after {@code timeout}
   */
  static Future<DeviceOptions> apply(QmpConnection conn, DeviceOptions options, Duration timeout) {
    if (options.enableMigration() != null && options.migrationEvents() != null) {
      return Future.succeededFuture(options);
    }
    return VfioPciProperties.names(conn, timeout).map(names -> new DeviceOptions(
        options.enableMigration() == null && names.contains("enable-migration") ? Boolean.TRUE
            : options.enableMigration(),
        options.migrationEvents() == null && names.contains("migration-events") ? Boolean.TRUE
            : options.migrationEvents(),
        options.failoverPairId(), options.rombar()));
  }
}
