package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpSubscription;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * Watches one device for {@code DEVICE_DELETED} (the removal is complete) and
 * {@code DEVICE_UNPLUG_GUEST_ERROR} (the guest refused), matched on the device id or its exact
 * QOM path, never on a child object's path. Subscribed before {@code device_del} is sent, so
 * nothing slips between the request and the watch.
 */
final class DeletionWatch {
  static final String DEVICE_DELETED = "DEVICE_DELETED";
  static final String UNPLUG_GUEST_ERROR = "DEVICE_UNPLUG_GUEST_ERROR";

  private final Promise<Void> deleted = Promise.promise();
  private final Promise<Void> rejected = Promise.promise();
  private final QmpSubscription subscription;

  DeletionWatch(QmpConnection conn, String id) {
    String path = SlotPlacement.PERIPHERAL + "/" + id;
    EventFilter filter = EventFilter.names(DEVICE_DELETED, UNPLUG_GUEST_ERROR)
        .and(e -> id.equals(e.text("device")) || path.equals(e.text("path")));
    this.subscription = conn.subscribe(filter, 8, this::onEvent);
  }

  private void onEvent(QmpEvent e) {
    if (DEVICE_DELETED.equals(e.name())) {
      deleted.tryComplete();
    } else {
      rejected.tryComplete();
    }
  }

  /** Completes when QEMU reports the device deleted. */
  Future<Void> deleted() {
    return deleted.future();
  }

  /** Completes when the guest refuses the unplug. */
  Future<Void> rejected() {
    return rejected.future();
  }

  void cancel() {
    subscription.cancel();
  }
}
