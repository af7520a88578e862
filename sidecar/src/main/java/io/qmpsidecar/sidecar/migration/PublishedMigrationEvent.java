package io.qmpsidecar.sidecar.migration;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import java.util.Set;

/**
 * A {@link MigrationEvent} as the event stream publishes it, and the relay forwards it to the DPU
 * under the same name (docs/relay-protocol.md): {@code migration.status}, {@code vfio.state},
 * {@code failover.*} and {@code vm.lifecycle} as the relay protocol defines them (with extra
 * members the DPU may ignore), and {@code migration.coordination} / {@code migration.function}
 * for the coordinator's own steps.
 *
 * @param type the event type
 * @param data its members
 */
public record PublishedMigrationEvent(String type, ObjectNode data) {
  public static final String MIGRATION_STATUS = "migration.status";
  public static final String MIGRATION_COORDINATION = "migration.coordination";
  public static final String MIGRATION_FUNCTION = "migration.function";
  public static final String VFIO_STATE = "vfio.state";
  public static final String FAILOVER_PREFIX = "failover.";
  public static final String VM_LIFECYCLE = "vm.lifecycle";

  /** The types a migration publishes that the DPU hears from the migration itself (STOP/RESUME reach it as QEMU's). */
  public static final Set<String> FORWARDED = Set.of(MIGRATION_STATUS, MIGRATION_COORDINATION, MIGRATION_FUNCTION,
      VFIO_STATE, FAILOVER_PREFIX + "unplugPrimary", FAILOVER_PREFIX + "negotiated");

  /** {@code event} as published. */
  public static PublishedMigrationEvent of(MigrationEvent event) {
    ObjectNode p = JsonNodeFactory.instance.objectNode().put("vm", event.vm());
    if (event instanceof MigrationEvent.StatusChanged s) {
      return status(p, s.record(), false);
    }
    if (event instanceof MigrationEvent.Stalled s) {
      return status(p, s.record(), true);
    }
    if (event instanceof MigrationEvent.RunState r) {
      return new PublishedMigrationEvent(VM_LIFECYCLE, p.put("event", r.event()));
    }
    if (event instanceof MigrationEvent.VfioState v) {
      return new PublishedMigrationEvent(VFIO_STATE, p.put("device", v.device()).put("state", v.state())
          .put("derived", v.derived()));
    }
    if (event instanceof MigrationEvent.Failover f) {
      return new PublishedMigrationEvent(FAILOVER_PREFIX + f.kind(), p.put("device", f.device()));
    }
    if (event instanceof MigrationEvent.Coordination c) {
      return new PublishedMigrationEvent(MIGRATION_COORDINATION, p.put("state",
          c.state().name().toLowerCase(Locale.ROOT).replace('_', '-')).put("detail", c.detail()));
    }
    MigrationEvent.FunctionStep f = (MigrationEvent.FunctionStep) event;
    return new PublishedMigrationEvent(MIGRATION_FUNCTION, p.put("device", f.device())
        .put("strategy", f.strategy().wireName()).put("reason", f.reason()).put("step", f.step()).put("detail", f.detail()));
  }

  private static PublishedMigrationEvent status(ObjectNode p, MigrationRecord r, boolean stalled) {
    p.put("status", r.qemuStatus()).put("role", r.role().name().toLowerCase(Locale.ROOT));
    if (r.errorText() != null) {
      p.put("error", r.errorText());
    }
    if (stalled) {
      p.put("stalled", true);
    }
    return new PublishedMigrationEvent(MIGRATION_STATUS, p);
  }
}
