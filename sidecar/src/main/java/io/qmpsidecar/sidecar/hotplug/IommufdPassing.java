package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.ObjectProperty;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.UnixFd;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Passes a VFIO function to QEMU through IOMMUFD, with descriptors the sidecar opens: QEMU needs no
 * access to {@code /dev/iommu} or {@code /dev/vfio} at all. Once per VM, {@code /dev/iommu} goes to
 * QEMU ({@code getfd}) and becomes the iommufd object {@value #OBJECT} ({@code object-add} with
 * {@code fd}), kept for the VM's life (QEMU does not close an iommufd descriptor it was given, even
 * on {@code object-del}); per function, its cdev {@code /dev/vfio/devices/vfioN} is passed as
 * {@code qs-fd-ID}, which {@code device_add vfio-pci} takes with {@code iommufd} and {@code fd}.
 * The sidecar closes its own copies at once.
 */
final class IommufdPassing {
  /** The id of the VM's iommufd object, and the name its descriptor is passed under. */
  static final String OBJECT = "qs-iommufd";
  private static final String PREFIX = "qs-fd-";

  private final Vertx vertx;
  private final SysfsHostPrep hostPrep;
  private final Duration timeout;

  IommufdPassing(Vertx vertx, SysfsHostPrep hostPrep, Duration timeout) {
    this.vertx = vertx;
    this.hostPrep = hostPrep;
    this.timeout = timeout;
  }

  /** The name a function's cdev is passed under. */
  static String fdName(String deviceId) {
    return PREFIX + deviceId;
  }

  /**
   * Why this attach takes the group path, or empty when it can go through IOMMUFD: the host
   * ({@link SysfsHostPrep#iommufdUnavailable()}), the monitor (fd passing needs a Unix socket on
   * the native transport) and QEMU ({@code vfio-pci} with {@code iommufd} and {@code fd}) must all
   * allow it.
   */
  Future<Optional<String>> unavailable(QmpConnection conn) {
    return hostPrep.iommufdUnavailable().compose(host -> {
      if (host.isPresent()) {
        return Future.succeededFuture(host);
      }
      if (conn.peer().isEmpty()) {
        return Future.succeededFuture(Optional.of("the monitor is not a Unix socket on the native transport,"
            + " which passing descriptors needs"));
      }
      return VfioPciProperties.names(conn, timeout).map(names -> names.contains("iommufd") && names.contains("fd")
          ? Optional.<String>empty()
          : Optional.of("QEMU " + conn.greeting().version() + " has no iommufd backend for vfio-pci"));
    });
  }

  /**
   * Passes the function's cdev as {@link #fdName}, creating the VM's iommufd object first when
   * QEMU has none.
   *
   * @param bdf the PCI function, or null for an mdev
   */
  Future<Void> pass(QmpConnection conn, String vm, String deviceId, Bdf bdf, String mdevUuid) {
    return object(conn, vm)
        .compose(v -> hostPrep.cdev(bdf, mdevUuid))
        .compose(cdev -> give(conn, vm, cdev, fdName(deviceId)));
  }

  /** Closes what QEMU still holds under the function's name (the attach was undone before device_add took it). */
  Future<Void> forget(QmpConnection conn, String deviceId) {
    return conn.closefd(fdName(deviceId)).otherwiseEmpty();
  }

  private Future<Void> object(QmpConnection conn, String vm) {
    return conn.qomList("/objects").compose(objects -> {
      if (objects.stream().map(ObjectProperty::name).anyMatch(OBJECT::equals)) {
        return Future.succeededFuture();
      }
      return give(conn, vm, hostPrep.iommuNode(), OBJECT)
          .compose(v -> conn.execute(QmpCommand.raw("object-add", JsonNodeFactory.instance.objectNode()
              .put("qom-type", "iommufd").put("id", OBJECT).put("fd", OBJECT)), timeout)
              .<Void>mapEmpty()
              .recover(e -> conn.closefd(OBJECT).otherwiseEmpty().compose(x -> Future.failedFuture(
                  e instanceof QmpCommandException q ? Failures.qemuRefused(vm, q) : e))));
    });
  }

  /** Opens {@code node}, passes it under {@code name}, and closes the sidecar's copy. */
  private Future<Void> give(QmpConnection conn, String vm, Path node, String name) {
    return vertx.executeBlocking(() -> UnixFd.openReadWrite(node))
        .compose(fd -> conn.getfd(name, fd)
            .recover(e -> Future.failedFuture(e instanceof QmpCommandException q ? Failures.qemuRefused(vm, q) : e))
            .onComplete(ar -> fd.close()));
  }
}
