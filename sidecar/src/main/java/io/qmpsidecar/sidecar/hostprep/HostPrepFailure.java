package io.qmpsidecar.sidecar.hostprep;

import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;

/** Host preparation of a PCI function or an mdev failed: names the device, the problem and the fix. */
final class HostPrepFailure {
  private HostPrepFailure() {}

  /**
   * {@link Kind#HOST_PREREQUISITE} ({@code host-prerequisite}) with the details {@code bdf} and
   * {@code problem}.
   */
  static SidecarException of(String bdf, String problem, String fix, Throwable cause) {
    return function(bdf, problem, fix, cause).detail("problem", problem).build();
  }

  static SidecarException of(String bdf, String problem, String fix) {
    return of(bdf, problem, fix, null);
  }

  /**
   * As {@link #of(String, String, String, Throwable)}, about the function's IOMMU group: also the
   * detail {@code group}.
   */
  static SidecarException inGroup(String bdf, int group, String problem, String fix, Throwable cause) {
    return function(bdf, problem, fix, cause).detail("group", group).detail("problem", problem).build();
  }

  /**
   * {@link Kind#HOST_PREREQUISITE} ({@code host-prerequisite}) with the details {@code mdev} (its
   * UUID) and {@code problem}.
   */
  static SidecarException mdev(String uuid, String problem, String fix, Throwable cause) {
    return mdevFailure(uuid, problem, fix, cause).detail("problem", problem).build();
  }

  /** As {@link #mdev}, about the mdev's IOMMU group: also the detail {@code group}. */
  static SidecarException mdevInGroup(String uuid, int group, String problem, String fix) {
    return mdevFailure(uuid, problem, fix, null).detail("group", group).detail("problem", problem).build();
  }

  private static SidecarException.Builder function(String bdf, String problem, String fix, Throwable cause) {
    return SidecarException.of(Kind.HOST_PREREQUISITE, "host-prerequisite", "host device " + bdf + ": " + problem)
        .fix(fix).cause(cause).detail("bdf", bdf);
  }

  private static SidecarException.Builder mdevFailure(String uuid, String problem, String fix, Throwable cause) {
    return SidecarException.of(Kind.HOST_PREREQUISITE, "host-prerequisite", "mdev " + uuid + ": " + problem)
        .fix(fix).cause(cause).detail("mdev", uuid);
  }
}
