package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.RemovalEnd;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
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
  private final RemovalEnd end;
  private final HotplugOptions options;
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();

  public LibvirtRemovals(Vertx vertx, EventStream events, StateStore store, SysfsHostPrep hostPrep,
      HotplugOptions options) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.end = new RemovalEnd(events, store, hostPrep, LibvirtRemovals::data);
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
        end.orReport(a, opId, complete(a, restoreHost, opId, "device-removed after pending", true));
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

  /**
   * The device is gone: forgets it and ends the removal ({@link RemovalEnd}); libvirt does its own
   * host-side release, so no release is checked.
   *
   * @param deleted whether libvirt's {@code device-removed} was seen (false: found gone)
   */
  Future<Void> complete(Attachment a, boolean restoreHost, String opId, String how, boolean deleted) {
    forget(key(a.vm(), a.id()));
    return end.finish(a, restoreHost, opId, how, deleted, null);
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
