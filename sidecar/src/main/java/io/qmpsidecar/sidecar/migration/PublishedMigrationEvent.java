package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayMethods;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the DPU is told over the relay for each {@link MigrationEvent}: {@code migration.status},
 * {@code vfio.state}, {@code failover.*} and {@code vm.lifecycle} as the relay protocol defines
 * them (with extra members the DPU may ignore), and {@code migration.coordination} /
 * {@code migration.function} for the coordinator's own steps.
 */
public final class RelayNotifications {
  public static final String MIGRATION_COORDINATION = "migration.coordination";
  public static final String MIGRATION_FUNCTION = "migration.function";

  private RelayNotifications() {}

  /** The relay notification for {@code event}. */
  public static Notification of(MigrationEvent event) {
    if (event instanceof MigrationEvent.StatusChanged s) {
      return status(s.record(), false);
    }
    if (event instanceof MigrationEvent.Stalled s) {
      return status(s.record(), true);
    }
    if (event instanceof MigrationEvent.RunState r) {
      return Notification.vmLifecycle(r.vm(), r.event());
    }
    if (event instanceof MigrationEvent.VfioState v) {
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("vm", v.vm());
      p.put("device", v.device());
      p.put("state", v.state());
      p.put("derived", v.derived());
      return new Notification(RelayMethods.VFIO_STATE, p);
    }
    if (event instanceof MigrationEvent.Failover f) {
      return Notification.failover(f.kind(), f.vm(), f.device());
    }
    if (event instanceof MigrationEvent.Coordination c) {
      return new Notification(MIGRATION_COORDINATION, Map.of("vm", c.vm(), "state",
          c.state().name().toLowerCase(Locale.ROOT).replace('_', '-'), "detail", c.detail()));
    }
    MigrationEvent.FunctionStep f = (MigrationEvent.FunctionStep) event;
    return new Notification(MIGRATION_FUNCTION, Map.of("vm", f.vm(), "device", f.device(),
        "strategy", f.strategy().wireName(), "step", f.step(), "detail", f.detail()));
  }

  private static Notification status(MigrationRecord r, boolean stalled) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("vm", r.vm());
    p.put("status", r.qemuStatus());
    p.put("role", r.role().name().toLowerCase(Locale.ROOT));
    if (r.errorText() != null) {
      p.put("error", r.errorText());
    }
    if (stalled) {
      p.put("stalled", true);
    }
    return new Notification(RelayMethods.MIGRATION_STATUS, p);
  }
}
