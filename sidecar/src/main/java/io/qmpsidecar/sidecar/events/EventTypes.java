package io.qmpsidecar.sidecar.events;

/** The {@link SidecarEvent#type()} values the hotplug operations publish (docs/hotplug.md). */
public final class EventTypes {
  public static final String ATTACH_REQUESTED = "attach.requested";
  public static final String ATTACH_HOST_PREPARED = "attach.host-prepared";
  public static final String ATTACH_ADDED = "attach.added";
  public static final String ATTACH_VERIFIED = "attach.verified";
  public static final String ATTACH_FAILED = "attach.failed";
  public static final String ATTACH_ROLLED_BACK = "attach.rolled-back";
  public static final String DETACH_REQUESTED = "detach.requested";
  /** QEMU accepted {@code device_del}: the guest is asked to release the device. */
  public static final String DETACH_UNPLUG_REQUESTED = "detach.unplug-requested";
  public static final String DETACH_PENDING = "detach.pending";
  /** A detach failed for another reason than the guest (QEMU refused {@code device_del}, the VM went away). */
  public static final String DETACH_FAILED = "detach.failed";
  public static final String DETACH_REJECTED = "detach.rejected";
  public static final String DETACH_EXPIRED = "detach.pending-expired";
  /** The device is gone from QEMU, but QEMU's process still holds its VFIO nodes after a second. */
  public static final String DETACH_RELEASE_WAITING = "detach.release-waiting";
  /**
   * The device is gone from QEMU ({@code DEVICE_DELETED}) and QEMU holds none of its VFIO nodes:
   * only now may the function be destroyed.
   */
  public static final String DEVICE_DETACHED = "device.detached";
  public static final String HOST_RESTORED = "host.driver-restored";
  public static final String DRIFT_MISSING = "drift.device-missing";
  public static final String DRIFT_UNKNOWN = "drift.device-unknown";
  public static final String RECONCILED = "reconcile.done";
  /** An attach the sidecar did not finish (it stopped) was found done in QEMU and kept. */
  public static final String ATTACH_ADOPTED = "attach.adopted";
  /** An attach the sidecar did not finish was not in QEMU: its record is gone, its host driver restored. */
  public static final String ATTACH_ABANDONED = "attach.abandoned";

  private EventTypes() {}
}
