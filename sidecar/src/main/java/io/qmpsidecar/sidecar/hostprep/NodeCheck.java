package io.qmpsidecar.sidecar.hostprep;

import io.qmpsidecar.qmp.QmpPeer;
import java.util.Optional;

/**
 * With whose rights host prep checks a function's {@code /dev/vfio/N}: of the QEMU that will open
 * it, when the monitor's socket names it; of the sidecar, when it does not; or not at all, when
 * QEMU opens no group node because the sidecar passes it the function's cdev (IOMMUFD).
 */
public record NodeCheck(Kind kind, QmpPeer qemu) {
  public enum Kind { QEMU, SIDECAR, NONE }

  /** The sidecar's own rights decide. */
  public static final NodeCheck SIDECAR = new NodeCheck(Kind.SIDECAR, null);
  /** QEMU opens no group node: the sidecar passes the function's cdev. */
  public static final NodeCheck NONE = new NodeCheck(Kind.NONE, null);

  /** QEMU's rights when the socket names it, else the sidecar's. */
  public static NodeCheck of(Optional<QmpPeer> qemu) {
    return qemu.map(p -> new NodeCheck(Kind.QEMU, p)).orElse(SIDECAR);
  }

  /** For {@code attach.host-prepared}'s {@code nodeCheckedFor}. */
  public String describe() {
    return switch (kind) {
      case QEMU -> "QEMU (pid " + qemu.pid() + ")";
      case SIDECAR -> "the sidecar";
      case NONE -> "none: the sidecar passes the cdev (IOMMUFD)";
    };
  }
}
