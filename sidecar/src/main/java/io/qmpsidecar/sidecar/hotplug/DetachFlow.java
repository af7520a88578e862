package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;

/**
 * Detaches one device: {@code device_del}, then waits (bounded) for {@code DEVICE_DELETED}.
 * "Already in the process of unplug" and "guest is busy" are waited out and retried, not
 * reported as failures. A removal the guest has not completed is {@code pending} and handed to
 * {@link PendingDetaches}, which publishes {@code device.detached} when it completes.
 */
public final class DetachFlow {
  private final Vertx vertx;
  private final EventStream events;
  private final StateStore store;
  private final PendingDetaches pending;
  private final HotplugOptions options;

  public DetachFlow(Vertx vertx, EventStream events, StateStore store, PendingDetaches pending,
      HotplugOptions options) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.pending = pending;
    this.options = options;
  }

  /**
   * Runs the flow for a device the sidecar may or may not have attached ({@code stored} null).
   *
   * @return the outcome; fails with {@link Failures#qemuRefused} when QEMU refuses for any other
   *     reason than those above
   */
  public Future<DetachResult> detach(QmpConnection conn, Caller caller, DetachRequest request, Attachment stored) {
    String vm = request.vm();
    String id = request.id();
    events.publish(vm, EventTypes.DETACH_REQUESTED, request.opId(), JsonNodeFactory.instance.objectNode()
        .put("id", id).put("restoreHostDriver", request.restoreHostDriver()).put("caller", caller.id()));
    if (stored != null && stored.state() == AttachmentState.DETACHING && pending.watching(vm, id)) {
      return Future.succeededFuture(new DetachResult(vm, id, DetachOutcome.PENDING,
          "removal already requested; waiting for the guest to release the device"));
    }
    DeletionWatch watch = new DeletionWatch(conn, id);
    Promise<DetachOutcome> outcome = Promise.promise();
    watch.rejected().onSuccess(v -> outcome.tryComplete(DetachOutcome.REJECTED));
    boolean[] requested = {false};
    QmpConnection told = conn.observedBy((name, qmpId, nanos, failure) -> {
      if (failure == null && "device_del".equals(name) && !requested[0]) {
        requested[0] = true;
        events.publish(vm, EventTypes.DETACH_UNPLUG_REQUESTED, request.opId(), data(id));
      }
    });
    attempt(told, watch, vm, id, options.unplugRetries()).onComplete(ar -> {
      if (ar.succeeded()) {
        outcome.tryComplete(ar.result());
      } else {
        outcome.tryFail(ar.cause());
      }
    });
    return outcome.future()
        .compose(o -> settle(conn, request, stored, watch, o))
        .onFailure(e -> {
          watch.cancel();
          events.publish(vm, EventTypes.DETACH_FAILED, request.opId(), data(id).put("error", e.getMessage()));
        });
  }

  private Future<DetachOutcome> attempt(QmpConnection conn, DeletionWatch watch, String vm, String id,
      int retriesLeft) {
    return conn.deviceDel(id, options.detachWait())
        .map(u -> u == UnplugOutcome.DELETED ? DetachOutcome.DETACHED : DetachOutcome.PENDING)
        .recover(e -> {
          if (!(e instanceof QmpCommandException q)) {
            return Future.failedFuture(e);
          }
          if ("DeviceNotFound".equals(q.errorClass())) {
            return Future.succeededFuture(DetachOutcome.NOT_FOUND);
          }
          if (!inProgress(q.description())) {
            return Future.failedFuture(Failures.qemuRefused(vm, q));
          }
          if (watch.deleted().isComplete()) {
            return Future.succeededFuture(DetachOutcome.DETACHED);
          }
          if (retriesLeft == 0) {
            return Future.succeededFuture(DetachOutcome.PENDING);
          }
          // QEMU is still inside its unplug window: wait it out, watching for completion.
          Promise<DetachOutcome> next = Promise.promise();
          long timer = vertx.setTimer(options.unplugRetryWindow().toMillis(),
              t -> attempt(conn, watch, vm, id, retriesLeft - 1).onComplete(ar -> {
                if (ar.succeeded()) {
                  next.tryComplete(ar.result());
                } else {
                  next.tryFail(ar.cause());
                }
              }));
          watch.deleted().onSuccess(v -> {
            vertx.cancelTimer(timer);
            next.tryComplete(DetachOutcome.DETACHED);
          });
          return next.future();
        });
  }

  static boolean inProgress(String desc) {
    return desc.contains("already in the process of unplug") || desc.contains("guest is busy");
  }

  private Future<DetachResult> settle(QmpConnection conn, DetachRequest request, Attachment stored,
      DeletionWatch watch, DetachOutcome outcome) {
    String vm = request.vm();
    String id = request.id();
    switch (outcome) {
      case DETACHED, NOT_FOUND -> {
        watch.cancel();
        String detail = outcome == DetachOutcome.DETACHED ? "DEVICE_DELETED received"
            : "the device was not in the VM";
        boolean deleted = outcome == DetachOutcome.DETACHED;
        Future<Void> done = stored == null ? Future.succeededFuture()
            : pending.complete(stored, request.restoreHostDriver(), request.opId(), detail, deleted);
        if (stored == null && deleted) {
          events.publish(vm, EventTypes.DEVICE_DETACHED, request.opId(), data(id).put("how", detail)
              .put("deviceDeleted", true));
        }
        return done.map(new DetachResult(vm, id, outcome, detail));
      }
      case REJECTED -> {
        watch.cancel();
        Future<Void> done = stored == null ? Future.succeededFuture() : pending.rejected(stored, request.opId());
        if (stored == null) {
          events.publish(vm, EventTypes.DETACH_REJECTED, request.opId(), data(id));
        }
        return done.map(new DetachResult(vm, id, outcome,
            "the guest refused the unplug; stop what uses the device in the guest and retry"));
      }
      default -> {
        String detail = "the guest has not released the device within "
            + options.detachWait().toMillis() + " ms; the sidecar keeps watching for "
            + options.pendingWatch().toSeconds() + " s and publishes device.detached when it does";
        Attachment a = stored != null ? stored.withState(AttachmentState.DETACHING)
            : new Attachment(vm, id, "unknown", null, null, data(id), false, null, null,
                List.of(), AttachmentState.DETACHING, request.opId(), null);
        return RemovalEnd.recordPending(store, a).map(storeProblem -> {
          String told = storeProblem == null ? detail : detail + storeProblem;
          pending.track(a, watch, request.restoreHostDriver(), request.opId());
          events.publish(vm, EventTypes.DETACH_PENDING, request.opId(), PendingDetaches.data(a).put("detail", told));
          return new DetachResult(vm, id, DetachOutcome.PENDING, told);
        });
      }
    }
  }

  private static ObjectNode data(String id) {
    return JsonNodeFactory.instance.objectNode().put("id", id);
  }
}
