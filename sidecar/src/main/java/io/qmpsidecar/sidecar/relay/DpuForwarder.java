package io.qmpsidecar.sidecar.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpResult;
import io.qmpsidecar.relay.OpStage;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.state.Attachment;
import io.vertx.core.Context;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the event stream into what the DPU hears, in the stream's order: each DPU operation's
 * {@code op.progress} stages and its one end, {@code device.deleted} for every removal of a
 * device in the DPU's scope (before the {@code op.completed} of a detach it completes), VM
 * lifecycle and migration steps. The scope is the devices the DPU sees in {@code device.list}:
 * those the records show attached, whoever attached them. Runs on the subscription's context;
 * ends that wait for an operation's result come back to it, so every notification is handed to
 * the outbox from that one context.
 */
final class DpuForwarder implements EventListener {
  private static final Logger LOG = LoggerFactory.getLogger(DpuForwarder.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String DEVICE_DELETED = "qmp.DEVICE_DELETED";
  /** A live update's start and end: the DPU hears that QEMU is replaced, and no device event (nothing detaches). */
  private static final Set<String> LIVE_UPDATE = Set.of("liveupdate.started", "liveupdate.completed",
      "liveupdate.failed");
  private static final Set<String> LIFECYCLE = Set.of("qmp.STOP", "qmp.RESUME", "qmp.SHUTDOWN", "qmp.RESET",
      "qmp.POWERDOWN", "qmp.SUSPEND", "qmp.WAKEUP", "qmp.GUEST_PANICKED");
  private static final Set<String> HOTPLUG = Set.of(EventTypes.ATTACH_HOST_PREPARED, EventTypes.ATTACH_ADDED,
      EventTypes.ATTACH_VERIFIED, EventTypes.ATTACH_FAILED, EventTypes.ATTACH_ADOPTED, EventTypes.ATTACH_ABANDONED,
      EventTypes.DETACH_UNPLUG_REQUESTED, EventTypes.DETACH_PENDING, EventTypes.DETACH_REJECTED,
      EventTypes.DETACH_EXPIRED, EventTypes.DETACH_FAILED, EventTypes.DEVICE_DETACHED, EventTypes.DRIFT_MISSING,
      DEVICE_DELETED);

  private final Consumer<Notification> send;
  private final TrackedOps tracked;
  private final Context context;
  /** Devices in the DPU's scope, as {@code vm/id}. */
  private final Set<String> scope = ConcurrentHashMap.newKeySet();
  /** Devices whose {@code device.deleted} was sent on QEMU's event, before their record went. */
  private final Set<String> deletedSent = ConcurrentHashMap.newKeySet();

  DpuForwarder(Consumer<Notification> send, TrackedOps tracked, Context context) {
    this.send = send;
    this.tracked = tracked;
    this.context = context;
  }

  /** The event types the DPU hears of. */
  static boolean forwarded(String type) {
    return HOTPLUG.contains(type) || LIFECYCLE.contains(type) || PublishedMigrationEvent.FORWARDED.contains(type)
        || LIVE_UPDATE.contains(type);
  }

  /** Devices recorded when the link started: in scope from the start. */
  void recorded(List<Attachment> records) {
    records.forEach(a -> scope.add(key(a.vm(), a.id())));
  }

  @Override
  public void onDropped(long count) {
    LOG.error("relay: {} events were not forwarded to the DPU (the outbox fell {} behind); the DPU should ask for"
        + " state.snapshot", count, RelayLink.FORWARD_QUEUE);
  }

  @Override
  public void onEvent(SidecarEvent e) {
    String id = e.text("id");
    switch (e.type()) {
      case EventTypes.ATTACH_HOST_PREPARED -> progress(e, OpStage.HOST_PREPARED);
      case EventTypes.ATTACH_ADDED -> progress(e, OpStage.DEVICE_ADDED);
      case EventTypes.ATTACH_VERIFIED -> {
        scope.add(key(e.vm(), id));
        endAttach(e);
      }
      case EventTypes.ATTACH_FAILED -> endAttach(e);
      case EventTypes.ATTACH_ADOPTED -> scope.add(key(e.vm(), id));
      case EventTypes.ATTACH_ABANDONED -> scope.remove(key(e.vm(), id));
      case EventTypes.DETACH_UNPLUG_REQUESTED -> progress(e, OpStage.UNPLUG_REQUESTED);
      case EventTypes.DETACH_PENDING -> progress(e, OpStage.PENDING);
      case DEVICE_DELETED -> qemuDeleted(e);
      case EventTypes.DEVICE_DETACHED -> detached(e, id);
      case EventTypes.DETACH_REJECTED -> guestKept(e.vm(), id, "the guest refused to release " + id
          + " (it reported an unplug error); stop what uses the device in the guest and detach again");
      case EventTypes.DETACH_EXPIRED -> guestKept(e.vm(), id, "the guest did not release " + id + " within "
          + e.text("watchedMs") + " ms; removal is pending, and a device.deleted follows if it goes");
      case EventTypes.DETACH_FAILED -> endDetach(e);
      case EventTypes.DRIFT_MISSING -> {
        String key = key(e.vm(), id);
        if (scope.remove(key) && !deletedSent.remove(key)) {
          send.accept(Notification.deviceDeleted(e.vm(), id, path(id)));
        }
      }
      default -> {
        if (LIFECYCLE.contains(e.type())) {
          send.accept(Notification.vmLifecycle(e.vm(), e.type().substring("qmp.".length())));
        } else {
          Map<String, Object> params = JSON.convertValue(e.data(), JSON.getTypeFactory()
              .constructMapType(LinkedHashMap.class, String.class, Object.class));
          // The event stream says who asked for the migration; the DPU never needed to know.
          params.remove("caller");
          send.accept(new Notification(e.type(), params));
        }
      }
    }
  }

  private void progress(SidecarEvent e, OpStage stage) {
    TrackedOps.Op op = tracked.get(e.opId());
    if (op != null && op.accepted() && op.method.equals(stage.method())) {
      send.accept(Notification.opProgress(op.opId, stage));
    }
  }

  /** The attach's last event: its end is the operation's result, which follows at once. */
  private void endAttach(SidecarEvent e) {
    TrackedOps.Op op = tracked.get(e.opId());
    if (op == null || !op.attach()) {
      return;
    }
    if (!op.accepted()) {
      // Refused before it ran: the answer said so, and nothing follows.
      tracked.end(op);
      return;
    }
    op.submitted().done().onComplete(ar -> context.runOnContext(v -> {
      if (tracked.end(op)) {
        send.accept(ar.succeeded()
            ? Notification.opCompleted(op.opId, OpResult.attached(op.vm, op.deviceId,
                RelayExecutor.attachedDetails((Attachment) ar.result())))
            : Notification.opFailed(op.opId, RelayErrors.of(ar.cause())));
      }
    }));
  }

  /** A detach that failed for another reason than the guest: its failure follows at once. */
  private void endDetach(SidecarEvent e) {
    TrackedOps.Op op = tracked.get(e.opId());
    if (op == null || op.attach() || !op.accepted()) {
      return;
    }
    op.submitted().done().onComplete(ar -> context.runOnContext(v -> {
      if (ar.failed() && tracked.end(op)) {
        send.accept(Notification.opFailed(op.opId, RelayErrors.of(ar.cause())));
      }
    }));
  }

  private void qemuDeleted(SidecarEvent e) {
    String id = e.text("device");
    String key = key(e.vm(), id);
    if (id != null && scope.contains(key)) {
      deletedSent.add(key);
      send.accept(Notification.deviceDeleted(e.vm(), id, e.text("path") != null ? e.text("path") : path(id)));
    }
  }

  /**
   * The device's record is gone: the DPU's detaches of it end, {@code detached} when QEMU
   * reported the removal (its {@code device.deleted} first), {@code already-detached} when it was
   * found gone.
   */
  private void detached(SidecarEvent e, String id) {
    String key = key(e.vm(), id);
    boolean deleted = e.data().path("deviceDeleted").asBoolean(false);
    List<TrackedOps.Op> ops = tracked.detachesOf(e.vm(), id);
    boolean inScope = scope.remove(key);
    boolean sent = deletedSent.remove(key);
    if (!sent && (deleted ? inScope || !ops.isEmpty() : inScope && ops.isEmpty())) {
      send.accept(Notification.deviceDeleted(e.vm(), id, path(id)));
    }
    for (TrackedOps.Op op : ops) {
      if (tracked.end(op)) {
        send.accept(Notification.opCompleted(op.opId, deleted ? OpResult.detached(op.vm, op.deviceId)
            : OpResult.alreadyDetached(op.vm, op.deviceId)));
      }
    }
  }

  /** The guest kept the device: the DPU's detaches of it fail with GUEST_UNPLUG_TIMEOUT. */
  private void guestKept(String vm, String id, String message) {
    for (TrackedOps.Op op : tracked.detachesOf(vm, id)) {
      if (tracked.end(op)) {
        send.accept(Notification.opFailed(op.opId, new RelayError(ErrorCode.GUEST_UNPLUG_TIMEOUT, message,
            Map.of("vm", vm, "device", id))));
      }
    }
  }

  private static String key(String vm, String id) {
    return vm + "/" + id;
  }

  private static String path(String id) {
    return "/machine/peripheral/" + id;
  }
}
