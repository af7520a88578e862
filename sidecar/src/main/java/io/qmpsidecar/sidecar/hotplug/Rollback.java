package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.sidecar.hostprep.PreparedHost;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;

/**
 * Undoes a failed attach: removes the device when it was added, then restores the host driver
 * when host prep rebound it, but only once QEMU let go of the function (unbinding a function
 * QEMU still holds would block in the kernel). Never fails: each step's result is reported.
 */
final class Rollback {
  private final SysfsHostPrep hostPrep;
  private final HotplugOptions options;

  Rollback(SysfsHostPrep hostPrep, HotplugOptions options) {
    this.hostPrep = hostPrep;
    this.options = options;
  }

  Future<List<String>> undo(QmpConnection conn, String id, boolean added, PreparedHost prepared) {
    List<String> steps = new ArrayList<>();
    Future<Boolean> released = !added ? Future.succeededFuture(true)
        : conn.deviceDel(id, options.detachWait()).map(outcome -> {
          boolean gone = outcome == UnplugOutcome.DELETED;
          steps.add(gone ? "device " + id + " removed"
              : "device_del of " + id + " requested; the guest has not released it yet");
          return gone;
        }).otherwise(e -> {
          steps.add("device_del of " + id + " failed: " + e.getMessage());
          return false;
        });
    return released.compose(gone -> {
      if (prepared == null || !prepared.rebound()) {
        return Future.succeededFuture(steps);
      }
      String bdf = prepared.device().bdf().value();
      String previous = prepared.previousDriver().orElse("no driver");
      if (!gone) {
        steps.add("host driver of " + bdf + " left on " + prepared.boundDriver()
            + " while QEMU may hold it; restore " + previous + " after the device is gone");
        return Future.succeededFuture(steps);
      }
      return hostPrep.restore(prepared.device().bdf(), prepared.previousDriver())
          .map(v -> {
            steps.add("host driver of " + bdf + " restored to " + previous);
            return steps;
          })
          .otherwise(e -> {
            steps.add("restoring the host driver of " + bdf + " failed: " + e.getMessage());
            return steps;
          });
    });
  }
}
