package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Optional {@code vfio-pci} properties; null leaves QEMU's default.
 *
 * @param enableMigration {@code enable-migration} (VFIO migration v2)
 * @param migrationEvents {@code migration-events} ({@code VFIO_MIGRATION} events, QEMU 9.1+)
 * @param failoverPairId {@code failover_pair_id}: the virtio-net {@code failover=on} device
 * @param rombar {@code rombar} (0 hides the option ROM)
 */
public record DeviceOptions(Boolean enableMigration, Boolean migrationEvents,
    String failoverPairId, Integer rombar) {

  public static final DeviceOptions NONE = new DeviceOptions(null, null, null, null);

  void applyTo(ObjectNode properties) {
    if (enableMigration != null) {
      properties.put("enable-migration", enableMigration ? "on" : "off");
    }
    if (migrationEvents != null) {
      properties.put("migration-events", migrationEvents);
    }
    if (failoverPairId != null) {
      properties.put("failover_pair_id", failoverPairId);
    }
    if (rombar != null) {
      properties.put("rombar", rombar);
    }
  }
}
