package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.List;

/**
 * Checks that an added device really is in the VM: realized in qom first, then listed in
 * {@code query-pci} under its root port when that port's secondary bus is numbered (a VM whose
 * firmware has not run has no numbered buses: then the guest address is unknown, not an error).
 */
final class DeviceVerifier {
  /** The verified facts. {@code guestAddress} is null when the bus is not numbered yet. */
  record Verified(String guestAddress, List<String> blockedReasons) {}

  private final Duration timeout;

  DeviceVerifier(Duration timeout) {
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
          return conn.execute(QmpCommands.queryPci(), timeout);
        })
        .compose(pci -> guestAddress(vm, id, rootPort, pci))
        .compose(address -> conn.execute(QmpCommands.queryMigrate(), timeout)
            .map(MigrationInfo::blockedReasons)
            .map(reasons -> new Verified(address, reasons)));
  }

  private static Future<String> guestAddress(String vm, String id, String rootPort, List<PciDevice> pci) {
    PciDevice port = find(pci, rootPort);
    if (port == null || port.secondaryBus() == null || port.secondaryBus() == 0) {
      return Future.succeededFuture(null);
    }
    for (PciDevice child : port.children()) {
      if (id.equals(child.qdevId())) {
        return Future.succeededFuture(child.address());
      }
    }
    return Future.failedFuture(HotplugFailures.unverified(vm, "VM " + vm + ": device " + id
        + " is realized but query-pci does not list it under root port " + rootPort
        + " (bus " + port.secondaryBus() + "); the guest cannot see it: check QEMU's log", null));
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
