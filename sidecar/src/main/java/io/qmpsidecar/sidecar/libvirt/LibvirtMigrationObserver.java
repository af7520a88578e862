package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.JobInfo;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;

/**
 * Every migration of a libvirt VM as the DPU hears it, whoever started it (the sidecar, Nova,
 * KubeVirt, virsh): libvirt's {@code migration-iteration} becomes {@code migration.status} active,
 * its {@code job-completed} of an outgoing migration {@code migration.status} completed (source),
 * and the domain resumed by a migration {@code migration.status} completed (destination).
 */
public final class LibvirtMigrationObserver {
  private static final String TYPE = PublishedMigrationEvent.MIGRATION_STATUS;

  private LibvirtMigrationObserver() {}

  /** Publishes the migration steps of {@code domain} from now on. */
  public static void watch(LibvirtDomain domain, EventStream events) {
    domain.subscribe(e -> {
      if (e instanceof LibvirtEvent.MigrationIteration i) {
        events.publish(domain.vm(), TYPE, null, status(domain, "active", "source").put("iteration", i.iteration()));
      } else if (e instanceof LibvirtEvent.JobCompleted j
          && j.job().operation().filter(op -> op == JobInfo.Operation.MIGRATION_OUT).isPresent()) {
        ObjectNode d = status(domain, "completed", "source");
        j.job().timeElapsedMs().ifPresent(t -> d.put("timeElapsedMs", t));
        j.job().number("data_total").ifPresent(t -> d.put("dataTotal", t));
        events.publish(domain.vm(), TYPE, null, d);
      } else if (e instanceof LibvirtEvent.Lifecycle l && l.type() == LibvirtEvent.LifecycleType.RESUMED && l.migrated()) {
        events.publish(domain.vm(), TYPE, null, status(domain, "completed", "destination"));
      }
    });
  }

  private static ObjectNode status(LibvirtDomain domain, String status, String role) {
    return JsonNodeFactory.instance.objectNode().put("vm", domain.vm()).put("status", status).put("role", role)
        .put("backend", "libvirt");
  }
}
