package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import java.util.Optional;
import java.util.function.Function;

/**
 * The end of a removal once the device is gone, for every backend: restores the host driver when
 * asked and host prep had rebound it, forgets the record and publishes {@code device.detached}.
 * The device is gone whatever the store says, so {@code device.detached} is published in any case;
 * a record the store could not remove is reported ({@code recorded: false}, and the returned
 * future fails) and repaired by a later reconcile.
 */
public final class RemovalEnd {
  private final EventStream events;
  private final StateStore store;
  private final SysfsHostPrep hostPrep;
  private final Function<Attachment, ObjectNode> data;

  /** @param data the backend's members of an event about a device */
  public RemovalEnd(EventStream events, StateStore store, SysfsHostPrep hostPrep, Function<Attachment, ObjectNode> data) {
    this.events = events;
    this.store = store;
    this.hostPrep = hostPrep;
    this.data = data;
  }

  /**
   * @param how what showed the device gone
   * @param deleted whether the backend's removal event was seen (false: found gone)
   * @param release what was checked of QEMU's hold on the function, or null
   */
  public Future<Void> finish(Attachment a, boolean restoreHost, String opId, String how, boolean deleted,
      ObjectNode release) {
    Future<String> restored = !(restoreHost && a.hostRebound() && a.hostBdf() != null)
        ? Future.succeededFuture(null)
        : hostPrep.restore(Bdf.parse(a.hostBdf()), Optional.ofNullable(a.previousHostDriver()))
            .map(v -> a.previousHostDriver() == null ? "none" : a.previousHostDriver())
            .otherwise(e -> "failed: " + e.getMessage());
    return restored.compose(driver -> store.remove(a.vm(), a.id()).transform(removed -> {
      ObjectNode d = data.apply(a).put("how", how).put("deviceDeleted", deleted).put("recorded", removed.succeeded());
      if (release != null) {
        d.set("release", release);
      }
      if (driver != null) {
        d.put("hostDriverRestored", driver);
        events.publish(a.vm(), EventTypes.HOST_RESTORED, opId, data.apply(a).put("driver", driver));
      }
      events.publish(a.vm(), EventTypes.DEVICE_DETACHED, opId, d);
      return removed.succeeded() ? Future.<Void>succeededFuture() : Future.<Void>failedFuture(
          SidecarException.of(Kind.FAILED, "state-store", "VM " + a.vm() + ": " + a.id() + " is gone from QEMU ("
              + how + "), but the state store could not record it: " + removed.cause().getMessage())
              .vm(a.vm()).cause(removed.cause()).detail("path", store.path().toString())
              .fix("free space or fix the state directory; the sidecar reconciles the record once the store works")
              .build());
    }));
  }

  /**
   * Records a removal the guest has not completed ({@code a}, DETACHING). It is watched whether or
   * not the store records it, since its completion must not be missed: the future gives null, or
   * what to tell the caller about a record the store could not write (repaired later).
   */
  public static Future<String> recordPending(StateStore store, Attachment a) {
    return store.put(a).map((String) null).otherwise(e -> "; the state store could not record the pending"
        + " removal (" + e.getMessage() + "): it is watched all the same, and its record repaired later");
  }

  /** {@code removal}, where no caller waits for it: a failure is published as {@code detach.failed}. */
  public Future<Void> orReport(Attachment a, String opId, Future<Void> removal) {
    return removal.recover(e -> {
      events.publish(a.vm(), EventTypes.DETACH_FAILED, opId, data.apply(a).put("error", e.getMessage()));
      return Future.succeededFuture();
    });
  }
}
