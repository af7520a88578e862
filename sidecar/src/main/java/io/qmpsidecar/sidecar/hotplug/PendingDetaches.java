package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Detaches the guest has not completed yet: each is watched (bounded by
 * {@link HotplugOptions#pendingWatch()}) and completed when {@code DEVICE_DELETED} arrives, which
 * is the only moment {@code device.detached} is published. Also completes removals that a
 * reconcile finds done. Thread-safe.
 */
public final class PendingDetaches {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private record Watch(DeletionWatch watch, long timer) {}

  private final Vertx vertx;
  private final EventStream events;
  private final StateStore store;
  private final RemovalEnd end;
  private final ReleaseGate releases;
  private final HotplugOptions options;
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();

  /** @param releases waited on before a VFIO function is restored and reported detached */
  public PendingDetaches(Vertx vertx, EventStream events, StateStore store, SysfsHostPrep hostPrep,
      ReleaseGate releases, HotplugOptions options) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.end = new RemovalEnd(events, store, hostPrep, PendingDetaches::data);
    this.releases = releases;
    this.options = options;
  }

  /** Whether the device's removal is being watched. */
  public boolean watching(String vm, String id) {
    return watches.containsKey(key(vm, id));
  }

  /** How many removals are being watched. */
  public int size() {
    return watches.size();
  }

  /** Watches a pending removal with the given (already subscribed) watch. */
  void track(Attachment a, DeletionWatch watch, boolean restoreHost, String opId) {
    String key = key(a.vm(), a.id());
    long timer = vertx.setTimer(options.pendingWatch().toMillis(), t -> {
      if (watches.remove(key) != null) {
        watch.cancel();
        events.publish(a.vm(), EventTypes.DETACH_EXPIRED, opId, data(a)
            .put("watchedMs", options.pendingWatch().toMillis())
            .put("fix", "the guest never released the device: check the guest (its OS must"
                + " support PCIe hotplug), or reset the VM; a reconcile completes the removal"));
      }
    });
    Watch old = watches.put(key, new Watch(watch, timer));
    if (old != null) {
      stop(old);
    }
    watch.deleted().onSuccess(v -> {
      if (watches.remove(key) != null) {
        vertx.cancelTimer(timer);
        watch.cancel();
        completeOrReport(a, restoreHost, opId, "DEVICE_DELETED after pending", true);
      }
    });
    watch.rejected().onSuccess(v -> {
      if (watches.remove(key) != null) {
        vertx.cancelTimer(timer);
        watch.cancel();
        rejected(a, opId);
      }
    });
  }

  /**
   * The device is gone: once QEMU holds none of its VFIO nodes ({@link ReleaseGate}), forgets it,
   * restores the host driver when asked and host prep had rebound it, and publishes
   * {@code device.detached}. When QEMU still holds them at the gate's bound, the record stays
   * {@code DETACHING}, the host driver is left alone and the returned future fails.
   *
   * @param deleted whether QEMU's {@code DEVICE_DELETED} was seen (false: found gone)
   */
  Future<Void> complete(Attachment a, boolean restoreHost, String opId, String how, boolean deleted) {
    Watch w = watches.remove(key(a.vm(), a.id()));
    if (w != null) {
      stop(w);
    }
    return releases.released(a, opId)
        .recover(e -> store.put(a.withState(AttachmentState.DETACHING)).transform(stored -> Future.failedFuture(e)))
        .compose(release -> end.finish(a, restoreHost, opId, how, deleted, release));
  }

  /** {@link #complete}, where no caller waits for it: a failure is published as {@code detach.failed}. */
  Future<Void> completeOrReport(Attachment a, boolean restoreHost, String opId, String how, boolean deleted) {
    return end.orReport(a, opId, complete(a, restoreHost, opId, how, deleted));
  }

  /** The guest refused: the device stays attached. */
  Future<Void> rejected(Attachment a, String opId) {
    events.publish(a.vm(), EventTypes.DETACH_REJECTED, opId, data(a)
        .put("fix", "the guest refused the unplug (DEVICE_UNPLUG_GUEST_ERROR): stop what uses the"
            + " device in the guest and detach again"));
    return store.put(a.withState(AttachmentState.ATTACHED));
  }

  /** Stops every watch (the sidecar is shutting down). */
  public void close() {
    watches.values().forEach(this::stop);
    watches.clear();
  }

  private void stop(Watch w) {
    vertx.cancelTimer(w.timer());
    w.watch().cancel();
  }

  static ObjectNode data(Attachment a) {
    ObjectNode d = JSON.objectNode().put("id", a.id()).put("driver", a.driver());
    if (a.hostBdf() != null) {
      d.put("host", a.hostBdf());
    }
    if (a.rootPort() != null) {
      d.put("rootPort", a.rootPort());
    }
    return d;
  }

  private static String key(String vm, String id) {
    return vm + "\u0000" + id;
  }
}
