package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import java.util.Optional;
import java.util.function.Function;

/**
 * What a reconcile does with an attach that never finished (the sidecar stopped between storing
 * its intent and storing the attachment), for every backend: the VM has the device, so it is
 * kept as attached ({@code attach.adopted}); or it does not, so the intent goes and a host driver
 * the attach had rebound is restored ({@code attach.abandoned}).
 */
public final class InterruptedAttaches {
  private final EventStream events;
  private final StateStore store;
  private final SysfsHostPrep hostPrep;
  private final Function<Attachment, ObjectNode> data;

  /** @param data the backend's members of an event about a device */
  public InterruptedAttaches(EventStream events, StateStore store, SysfsHostPrep hostPrep,
      Function<Attachment, ObjectNode> data) {
    this.events = events;
    this.store = store;
    this.hostPrep = hostPrep;
    this.data = data;
  }

  /** The VM has the device: {@code attached} (the intent, ATTACHED, with what was read of it) is stored. */
  public Future<Void> adopt(Attachment attached) {
    return store.put(attached).onSuccess(v -> events.publish(attached.vm(), EventTypes.ATTACH_ADOPTED,
        attached.opId(), data.apply(attached).put("detail", "an attach that did not finish (the sidecar stopped)"
            + " found done in the VM: kept as attached")));
  }

  /**
   * The VM does not have the device: its record goes, and a host driver the attach had rebound is
   * restored when the function is still on the VFIO driver.
   */
  public Future<Void> abandon(Attachment intent) {
    Future<String> restored = !(intent.hostRebound() && intent.hostBdf() != null) ? Future.succeededFuture(null)
        : hostPrep.inspect(Bdf.parse(intent.hostBdf())).compose(h -> {
          if (!h.boundToVfio() || h.driver().equals(Optional.ofNullable(intent.previousHostDriver()))) {
            return Future.succeededFuture(null);
          }
          return hostPrep.restore(h.bdf(), Optional.ofNullable(intent.previousHostDriver()))
              .map(v -> intent.previousHostDriver() == null ? "none" : intent.previousHostDriver());
        }).otherwise(e -> "failed: " + e.getMessage());
    return restored.compose(driver -> store.remove(intent.vm(), intent.id()).map(driver)).map(driver -> {
      ObjectNode d = data.apply(intent).put("detail", "an attach that did not finish (the sidecar stopped) is not"
          + " in the VM: forgotten");
      if (driver != null) {
        d.put("hostDriverRestored", driver);
      }
      events.publish(intent.vm(), EventTypes.ATTACH_ABANDONED, intent.opId(), d);
      return null;
    });
  }
}
