package io.qmpsidecar.sidecar.migration;

import io.vertx.core.Future;
import java.time.Duration;

/**
 * Detaches and attaches functions for the {@code unplug-replug} strategy. The sidecar plugs its
 * hotplug operations in here; implementations must not block the calling event loop.
 */
public interface FunctionHotplug {

  /**
   * Removes a device and waits for QEMU's confirmation ({@code DEVICE_DELETED}).
   *
   * @return completes once the device is gone; fails with a {@link io.qmpsidecar.sidecar.failure.SidecarException} (saying
   *     whether the removal is still pending) when it is not confirmed within {@code timeout}
   */
  Future<Void> detach(String vm, String deviceId, Duration timeout);

  /** Adds the device; fails with QEMU's error ({@code qemu-error}) when refused. */
  Future<Void> attach(String vm, DeviceSpec spec);

  /** Whether the device exists (realized) in the VM now. */
  Future<Boolean> isAttached(String vm, String deviceId);
}
