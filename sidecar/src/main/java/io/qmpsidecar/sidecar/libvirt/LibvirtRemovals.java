package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Removals of libvirt VMs that the guest has not completed yet: each is watched (bounded by
 * {@link HotplugOptions#pendingWatch()}) and completed on libvirt's {@code device-removed} for its
 * alias, the only moment {@code device.detached} is published; {@code device-removal-failed}
 * makes it {@code detach.rejected}. Thread-safe.
 */
public final class LibvirtRemovals {
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private record Watch(Runnable unsubscribe, long timer) {}

  private final Vertx vertx;
  private final EventStream events;
  private final StateStore store;
  private final SysfsHostPrep hostPrep;
  private final HotplugOptions options;
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();

  public LibvirtRemovals(Vertx vertx, EventStream events, StateStore store, SysfsHostPrep hostPrep,
      HotplugOptions options) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.hostPrep = hostPrep;
    this.options = options;
  }

  public boolean watching(String vm, String id) {
    return watches.containsKey(key(vm, id));
  }

  public int size() {
    return watches.size();
  }

  /** Watches the pending removal of {@code a} on {@code domain}. */
  void track(LibvirtDomain domain, Attachment a, String alias, boolean restoreHost, String opId) {
    String key = key(a.vm(), a.id());
    Runnable unsubscribe = domain.subscribe(e -> {
      if (e instanceof LibvirtEvent.DeviceRemoved r && r.alias().equals(alias) && forget(key)) {
        complete(a, restoreHost, opId, "device-removed after pending");
      } else if (e instanceof LibvirtEvent.DeviceRemovalFailed f && f.alias().equals(alias) && forget(key)) {
        rejected(a, opId);
      }
    });
    long timer = vertx.setTimer(options.pendingWatch().toMillis(), t -> {
      if (forget(key)) {
        events.publish(a.vm(), EventTypes.DETACH_EXPIRED, opId, data(a)
            .put("watchedMs", options.pendingWatch().toMillis())
            .put("fix", "the guest never released the device: check the guest (its OS must support PCIe"
                + " hotplug), or reset the VM (virsh reset); a reconcile completes the removal"));
      }
    });
    Watch old = watches.put(key, new Watch(unsubscribe, timer));
    if (old != null) {
      stop(old);
    }
  }

  /** The device is gone: forgets it, restores the host driver when asked and rebound, publishes {@code device.detached}. */
  Future<Void> complete(Attachment a, boolean restoreHost, String opId, String how) {
    forget(key(a.vm(), a.id()));
    Future<String> restored = !(restoreHost && a.hostRebound() && a.hostBdf() != null)
        ? Future.succeededFuture(null)
        : hostPrep.restore(Bdf.parse(a.hostBdf()), Optional.ofNullable(a.previousHostDriver()))
            .map(v -> a.previousHostDriver() == null ? "none" : a.previousHostDriver())
            .otherwise(e -> "failed: " + e.getMessage());
    return restored.compose(driver -> store.remove(a.vm(), a.id()).map(driver)).map(driver -> {
      ObjectNode d = data(a).put("how", how);
      if (driver != null) {
        d.put("hostDriverRestored", driver);
        events.publish(a.vm(), EventTypes.HOST_RESTORED, opId, data(a).put("driver", driver));
      }
      events.publish(a.vm(), EventTypes.DEVICE_DETACHED, opId, d);
      return null;
    });
  }

  /** The guest refused: the device stays attached. */
  Future<Void> rejected(Attachment a, String opId) {
    events.publish(a.vm(), EventTypes.DETACH_REJECTED, opId, data(a)
        .put("fix", "the guest refused the unplug (libvirt's device-removal-failed): stop what uses the device in"
            + " the guest and detach again"));
    return store.put(a.withState(AttachmentState.ATTACHED));
  }

  public void close() {
    watches.values().forEach(this::stop);
    watches.clear();
  }

  private boolean forget(String key) {
    Watch w = watches.remove(key);
    if (w != null) {
      stop(w);
    }
    return w != null;
  }

  private void stop(Watch w) {
    vertx.cancelTimer(w.timer());
    w.unsubscribe().run();
  }

  static ObjectNode data(Attachment a) {
    ObjectNode d = JSON.objectNode().put("id", a.id()).put("driver", a.driver()).put("backend", "libvirt");
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
