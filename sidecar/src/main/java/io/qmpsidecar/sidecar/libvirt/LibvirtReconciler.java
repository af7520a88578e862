package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.InterruptedAttaches;
import io.qmpsidecar.sidecar.hotplug.ReconcileReport;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Compares what the sidecar stored for a libvirt VM with the domain's live XML, after the
 * sidecar starts, after libvirtd comes back and after the domain is started again. As for a QMP
 * VM it reports drift and attaches nothing: a stored device the domain lost is forgotten
 * ({@code drift.device-missing}); a device with a user alias ({@code ua-}) the sidecar does not
 * know is reported ({@code drift.device-unknown}) and left alone (libvirt's own
 * {@code attach-device} with an alias makes one); a pending removal that completed meanwhile is
 * completed; one still pending is watched again; an attach that never finished (its stored
 * intent) is adopted when the live XML has the device ({@code attach.adopted}) and abandoned
 * otherwise, its host driver restored ({@code attach.abandoned}).
 */
public final class LibvirtReconciler {
  private final EventStream events;
  private final StateStore store;
  private final LibvirtRemovals removals;
  private final InterruptedAttaches interrupted;

  public LibvirtReconciler(EventStream events, StateStore store, LibvirtRemovals removals, SysfsHostPrep hostPrep) {
    this.events = events;
    this.store = store;
    this.removals = removals;
    this.interrupted = new InterruptedAttaches(events, store, hostPrep, LibvirtRemovals::data);
  }

  /** Reconciles one VM; fails when libvirt or the store cannot be read. */
  public Future<ReconcileReport> reconcile(LibvirtDomain domain) {
    String vm = domain.vm();
    return store.list(vm).compose(stored -> domain.liveXml().compose(xml -> {
      Set<String> present = new HashSet<>(xml.aliases());
      Set<String> known = new HashSet<>();
      List<String> missing = new ArrayList<>();
      List<String> completed = new ArrayList<>();
      List<String> watching = new ArrayList<>();
      List<String> adopted = new ArrayList<>();
      List<String> abandoned = new ArrayList<>();
      List<Future<Void>> work = new ArrayList<>();
      for (Attachment a : stored) {
        String alias = DeviceXml.alias(a.id());
        known.add(alias);
        boolean there = present.contains(alias);
        if (a.state() == AttachmentState.ATTACHING) {
          (there ? adopted : abandoned).add(a.id());
          work.add(there ? interrupted.adopt(a.withState(AttachmentState.ATTACHED)) : interrupted.abandon(a));
        } else if (a.state() == AttachmentState.DETACHING) {
          if (!there) {
            completed.add(a.id());
            work.add(removals.complete(a, false, a.opId(), "gone at reconcile", false));
          } else {
            watching.add(a.id());
            if (!removals.watching(vm, a.id())) {
              removals.track(domain, a, alias, false, a.opId());
            }
          }
        } else if (!there) {
          missing.add(a.id());
          events.publish(vm, EventTypes.DRIFT_MISSING, a.opId(), LibvirtRemovals.data(a)
              .put("fix", "the domain no longer has this device (restarted, migrated or detached outside the"
                  + " sidecar); attach it again if it is still wanted"));
          work.add(store.remove(vm, a.id()));
        }
      }
      List<String> unknown = xml.aliases().stream()
          .filter(alias -> alias.startsWith(DeviceXml.ALIAS_PREFIX) && !known.contains(alias))
          .map(DeviceXml::id).toList();
      return Future.all(work).map(v -> {
        for (String id : unknown) {
          events.publish(vm, EventTypes.DRIFT_UNKNOWN, null, JsonNodeFactory.instance.objectNode()
              .put("id", id).put("alias", DeviceXml.alias(id)).put("fix", "this device was attached to the domain"
                  + " outside the sidecar; detach it, or leave it: the sidecar will not touch it"));
        }
        ReconcileReport report = new ReconcileReport(vm, missing, unknown, completed, watching, adopted, abandoned);
        events.publish(vm, EventTypes.RECONCILED, null, JsonNodeFactory.instance.objectNode()
            .put("missing", missing.size()).put("unknown", unknown.size())
            .put("completed", completed.size()).put("watching", watching.size())
            .put("adopted", adopted.size()).put("abandoned", abandoned.size()).put("backend", "libvirt"));
        return report;
      });
    }));
  }
}
