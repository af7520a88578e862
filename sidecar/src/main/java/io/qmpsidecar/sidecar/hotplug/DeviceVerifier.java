package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks that an added device really is in the VM: realized in qom (the proof), then its guest
 * address from {@code query-pci} under its root port. A VM whose firmware has not run has no
 * numbered buses: the address is then unknown, not an error. Firmware that is numbering buses
 * right now (SeaBIOS sets a port's bus to 255 while it scans) shows the device under no port for a
 * moment: the verifier reads {@code query-pci} again every {@value #REREAD_MS} ms, at most
 * {@value #REREADS} times, and then reports the address as unknown.
 */
final class DeviceVerifier {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceVerifier.class);
  static final int REREADS = 10;
  static final long REREAD_MS = 100;

  /** The verified facts. {@code guestAddress} is null when the bus is not numbered yet. */
  record Verified(String guestAddress, List<String> blockedReasons) {}

  private final Vertx vertx;
  private final Duration timeout;

  DeviceVerifier(Vertx vertx, Duration timeout) {
    this.vertx = vertx;
    this.timeout = timeout;
  }

  Future<Verified> verify(QmpConnection conn, String vm, String id, String rootPort) {
    String path = SlotPlacement.PERIPHERAL + "/" + id;
    return conn.execute(QmpCommands.qomGet(path, "realized"), timeout)
        .recover(e -> Future.failedFuture(HotplugFailures.unverified(vm, "VM " + vm + ": device " + id
            + " is not in qom after device_add (" + e.getMessage() + "); check QEMU's log", e)))
        .compose(realized -> {
          if (!realized.asBoolean()) {
            return Future.failedFuture(HotplugFailures.unverified(vm, "VM " + vm + ": device " + id
                + " is in qom but not realized; check QEMU's log", null));
          }
          return guestAddress(conn, vm, id, rootPort, REREADS);
        })
        .compose(address -> conn.execute(QmpCommands.queryMigrate(), timeout)
            .map(MigrationInfo::blockedReasons)
            .map(reasons -> new Verified(address, reasons)));
  }

  private Future<String> guestAddress(QmpConnection conn, String vm, String id, String rootPort, int rereads) {
    return conn.execute(QmpCommands.queryPci(), timeout).compose(pci -> {
      PciDevice port = find(pci, rootPort);
      if (port == null || port.secondaryBus() == null || port.secondaryBus() == 0) {
        return Future.succeededFuture(null);
      }
      for (PciDevice child : port.children()) {
        if (id.equals(child.qdevId())) {
          return Future.succeededFuture(child.address());
        }
      }
      if (rereads == 0) {
        LOG.warn("VM {}: device {} is realized but query-pci still lists it under no root port ({} has bus {})"
            + " after {} ms; its guest address is reported as unknown (the guest firmware or kernel may be"
            + " renumbering buses)", vm, id, rootPort, port.secondaryBus(), REREADS * REREAD_MS);
        return Future.succeededFuture(null);
      }
      Promise<Void> later = Promise.promise();
      vertx.setTimer(REREAD_MS, t -> later.complete());
      return later.future().compose(v -> guestAddress(conn, vm, id, rootPort, rereads - 1));
    });
  }

  private static PciDevice find(List<PciDevice> devices, String qdevId) {
    for (PciDevice d : devices) {
      if (qdevId.equals(d.qdevId())) {
        return d;
      }
      PciDevice inner = find(d.children(), qdevId);
      if (inner != null) {
        return inner;
      }
    }
    return null;
  }
}
