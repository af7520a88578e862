package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Compares what the sidecar stored with what QEMU has ({@code qom-list /machine/peripheral}),
 * after a sidecar start or a QEMU reconnect. Reports drift as events, never attaches anything:
 * a stored device QEMU lost is forgotten ({@code drift.device-missing}); a hot-plugged device
 * the sidecar does not know is reported ({@code drift.device-unknown}) and left alone; a pending
 * removal that completed meanwhile is completed; one still pending is watched again; an attach
 * that never finished (its stored intent) is adopted when QEMU has the device
 * ({@code attach.adopted}) and abandoned otherwise, its host driver restored
 * ({@code attach.abandoned}).
 */
public final class Reconciler {
  private final EventStream events;
  private final StateStore store;
  private final PendingDetaches pending;
  private final InterruptedAttaches interrupted;
  private final SlotPlacement placement;
  private final DeviceVerifier verifier;
  private final HotplugOptions options;

  public Reconciler(Vertx vertx, EventStream events, StateStore store, PendingDetaches pending, SysfsHostPrep hostPrep,
      HotplugOptions options) {
    this.events = events;
    this.store = store;
    this.pending = pending;
    this.interrupted = new InterruptedAttaches(events, store, hostPrep, PendingDetaches::data);
    this.options = options;
    this.placement = new SlotPlacement(options.queryTimeout());
    this.verifier = new DeviceVerifier(vertx, options.queryTimeout());
  }

  /** Reconciles one VM; fails when QEMU or the store cannot be read. */
  public Future<ReconcileReport> reconcile(QmpConnection conn, String vm) {
    return store.list(vm).compose(stored -> placement.peripherals(conn).compose(p -> {
      Set<String> present = new HashSet<>(p.devices());
      Set<String> known = new HashSet<>();
      List<String> missing = new ArrayList<>();
      List<String> completed = new ArrayList<>();
      List<String> watching = new ArrayList<>();
      List<String> adopted = new ArrayList<>();
      List<String> abandoned = new ArrayList<>();
      List<Future<Void>> work = new ArrayList<>();
      for (Attachment a : stored) {
        known.add(a.id());
        boolean there = present.contains(a.id());
        if (a.state() == AttachmentState.ATTACHING) {
          (there ? adopted : abandoned).add(a.id());
          work.add(there ? adopt(conn, a) : interrupted.abandon(a));
        } else if (a.state() == AttachmentState.DETACHING) {
          if (!there) {
            completed.add(a.id());
            work.add(pending.completeOrReport(a, false, a.opId(), "gone at reconcile", false));
          } else {
            watching.add(a.id());
            if (!pending.watching(vm, a.id())) {
              pending.track(a, new DeletionWatch(conn, a.id()), false, a.opId());
            }
          }
        } else if (!there) {
          missing.add(a.id());
          events.publish(vm, EventTypes.DRIFT_MISSING, a.opId(), PendingDetaches.data(a)
              .put("fix", "QEMU no longer has this device (restarted or removed outside the"
                  + " sidecar); attach it again if it is still wanted"));
          work.add(store.remove(vm, a.id()));
        }
      }
      List<String> candidates = p.devices().stream().filter(id -> !known.contains(id)).toList();
      return Future.all(work).compose(v -> hotplugged(conn, candidates)).map(unknown -> {
        for (String id : unknown) {
          events.publish(vm, EventTypes.DRIFT_UNKNOWN, null, JsonNodeFactory.instance.objectNode()
              .put("id", id).put("fix", "this device was hot-plugged outside the sidecar; detach"
                  + " it, or leave it: the sidecar will not touch it"));
        }
        ReconcileReport report = new ReconcileReport(vm, missing, unknown, completed, watching, adopted, abandoned);
        events.publish(vm, EventTypes.RECONCILED, null, JsonNodeFactory.instance.objectNode()
            .put("missing", missing.size()).put("unknown", unknown.size())
            .put("completed", completed.size()).put("watching", watching.size())
            .put("adopted", adopted.size()).put("abandoned", abandoned.size()));
        return report;
      });
    }));
  }

  /** QEMU has the device of an attach that never finished: it is the sidecar's, attached. */
  private Future<Void> adopt(QmpConnection conn, Attachment intent) {
    return verifier.verify(conn, intent.vm(), intent.id(), intent.rootPort())
        .map(v -> new Attachment(intent.vm(), intent.id(), intent.driver(), intent.hostBdf(), intent.rootPort(),
            intent.properties(), intent.hostRebound(), intent.previousHostDriver(), v.guestAddress(),
            v.blockedReasons(), AttachmentState.ATTACHED, intent.opId(), intent.attachedBy()))
        .otherwise(e -> intent.withState(AttachmentState.ATTACHED))
        .compose(interrupted::adopt);
  }

  /** The ids among {@code ids} whose qom {@code hotplugged} is true (cold-plugged ones are config). */
  private Future<List<String>> hotplugged(QmpConnection conn, List<String> ids) {
    List<Future<Boolean>> checks = new ArrayList<>();
    for (String id : ids) {
      checks.add(conn.execute(QmpCommands.qomGet(SlotPlacement.PERIPHERAL + "/" + id, "hotplugged"),
          options.queryTimeout()).map(JsonNode::asBoolean).otherwise(false));
    }
    return Future.all(checks).map(cf -> {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < ids.size(); i++) {
        if (Boolean.TRUE.equals(cf.resultAt(i))) {
          out.add(ids.get(i));
        }
      }
      return out;
    });
  }
}
