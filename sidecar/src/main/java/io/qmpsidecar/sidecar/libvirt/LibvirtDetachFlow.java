package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainXml;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.hotplug.DetachOutcome;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachResult;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.hotplug.RemovalEnd;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;

/**
 * Detaches one device of a libvirt VM: {@code virDomainDetachDeviceAlias(LIVE)}, then waits
 * (bounded) for libvirt's {@code device-removed} of that alias. Outcomes as for a QMP VM:
 * detached, pending (handed to {@link LibvirtRemovals}), rejected ({@code device-removal-failed}),
 * not-found (no such alias in the live XML). QEMU's "already in the process of unplug", which
 * libvirt passes on as an internal error, is pending, not a failure.
 */
public final class LibvirtDetachFlow {
  private final Vertx vertx;
  private final EventStream events;
  private final StateStore store;
  private final LibvirtRemovals removals;
  private final HotplugOptions options;

  public LibvirtDetachFlow(Vertx vertx, EventStream events, StateStore store, LibvirtRemovals removals,
      HotplugOptions options) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.removals = removals;
    this.options = options;
  }

  /** Runs the flow for a device the sidecar may or may not have attached ({@code stored} null). */
  public Future<DetachResult> detach(LibvirtDomain domain, Caller caller, DetachRequest request, Attachment stored) {
    String vm = request.vm();
    String id = request.id();
    events.publish(vm, EventTypes.DETACH_REQUESTED, request.opId(), data(id)
        .put("restoreHostDriver", request.restoreHostDriver()).put("caller", caller.id()));
    if (stored != null && stored.state() == AttachmentState.DETACHING && removals.watching(vm, id)) {
      return Future.succeededFuture(new DetachResult(vm, id, DetachOutcome.PENDING,
          "removal already requested; waiting for the guest to release the device"));
    }
    return domain.liveXml().compose(xml -> request(domain, request, stored, xml))
        .onFailure(e -> events.publish(vm, EventTypes.DETACH_FAILED, request.opId(), data(id)
            .put("error", e.getMessage())));
  }

  /** Asks libvirt to detach the device's alias, then settles on what follows. */
  private Future<DetachResult> request(LibvirtDomain domain, DetachRequest request, Attachment stored, DomainXml xml) {
    String id = request.id();
    String alias = aliasOf(xml, id);
    if (alias == null) {
      return settle(domain, request, stored, null, DetachOutcome.NOT_FOUND);
    }
    Promise<DetachOutcome> outcome = Promise.promise();
    // Watch before asking, so that a completion racing the reply is not missed.
    Runnable unsubscribe = domain.subscribe(e -> {
      if (e instanceof LibvirtEvent.DeviceRemoved r && r.alias().equals(alias)) {
        outcome.tryComplete(DetachOutcome.DETACHED);
      } else if (e instanceof LibvirtEvent.DeviceRemovalFailed f && f.alias().equals(alias)) {
        outcome.tryComplete(DetachOutcome.REJECTED);
      }
    });
    long timer = vertx.setTimer(options.detachWait().toMillis(), t -> outcome.tryComplete(DetachOutcome.PENDING));
    domain.detachAlias(alias).onComplete(ar -> {
      if (ar.succeeded()) {
        if (!outcome.future().isComplete()) {
          events.publish(request.vm(), EventTypes.DETACH_UNPLUG_REQUESTED, request.opId(), data(id));
        }
      } else if (inProgress(ar.cause())) {
        outcome.tryComplete(DetachOutcome.PENDING);
      } else {
        outcome.tryFail(ar.cause());
      }
    });
    return outcome.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      unsubscribe.run();
    }).compose(o -> settle(domain, request, stored, alias, o));
  }

  /** libvirt passes QEMU's refusal of a repeated {@code device_del} on as an internal error. */
  static boolean inProgress(Throwable e) {
    String m = String.valueOf(e.getMessage());
    return m.contains("already in the process of unplug") || m.contains("guest is busy");
  }

  /**
   * The alias under which the domain's live XML holds device {@code id} (the sidecar's
   * {@code ua-ID}, or ID itself), or null.
   */
  public static String aliasOf(DomainXml xml, String id) {
    return xml.hasAlias(DeviceXml.alias(id)) ? DeviceXml.alias(id) : xml.hasAlias(id) ? id : null;
  }

  private Future<DetachResult> settle(LibvirtDomain domain, DetachRequest request, Attachment stored, String alias,
      DetachOutcome outcome) {
    String vm = request.vm();
    String id = request.id();
    switch (outcome) {
      case DETACHED, NOT_FOUND -> {
        String detail = outcome == DetachOutcome.DETACHED ? "libvirt's device-removed received"
            : "the device was not in the domain's live XML";
        Future<Void> done = stored == null ? Future.succeededFuture()
            : removals.complete(stored, request.restoreHostDriver(), request.opId(), detail,
                outcome == DetachOutcome.DETACHED);
        if (stored == null && outcome == DetachOutcome.DETACHED) {
          events.publish(vm, EventTypes.DEVICE_DETACHED, request.opId(), data(id).put("how", detail)
              .put("deviceDeleted", true));
        }
        return done.map(new DetachResult(vm, id, outcome, detail));
      }
      case REJECTED -> {
        Future<Void> done = stored == null ? Future.succeededFuture() : removals.rejected(stored, request.opId());
        if (stored == null) {
          events.publish(vm, EventTypes.DETACH_REJECTED, request.opId(), data(id));
        }
        return done.map(new DetachResult(vm, id, outcome,
            "the guest refused the unplug; stop what uses the device in the guest and retry"));
      }
      default -> {
        String detail = "the guest has not released the device within " + options.detachWait().toMillis()
            + " ms; the sidecar keeps watching for " + options.pendingWatch().toSeconds()
            + " s and publishes device.detached when libvirt reports device-removed";
        Attachment a = stored != null ? stored.withState(AttachmentState.DETACHING)
            : new Attachment(vm, id, "unknown", null, null, JsonNodeFactory.instance.objectNode().put("id", id), false,
                null, null, List.of(), AttachmentState.DETACHING, request.opId(), null);
        return RemovalEnd.recordPending(store, a).map(storeProblem -> {
          String told = storeProblem == null ? detail : detail + storeProblem;
          removals.track(domain, a, alias, request.restoreHostDriver(), request.opId());
          events.publish(vm, EventTypes.DETACH_PENDING, request.opId(), LibvirtRemovals.data(a).put("detail", told));
          return new DetachResult(vm, id, DetachOutcome.PENDING, told);
        });
      }
    }
  }

  /** The members of every event of a libvirt VM's detach about a device the sidecar may not know. */
  private static ObjectNode data(String id) {
    return JsonNodeFactory.instance.objectNode().put("id", id).put("backend", "libvirt");
  }
}
