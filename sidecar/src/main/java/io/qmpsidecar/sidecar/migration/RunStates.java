package io.qmpsidecar.sidecar.migration;

import java.util.Set;

/**
 * The states of a migration run as the API shows them, whether the sidecar or libvirt runs it
 * (and QEMU's own, as the CLI shows them with --qmp: FAILED, CANCELLED).
 */
public final class RunStates {
  /** A run in one of these has ended: nothing is left to cancel, and a follower stops. */
  public static final Set<String> ENDED = Set.of("COMPLETED", "ROLLED_BACK", "ROLLBACK_FAILED", "REFUSED", "FAILED",
      "CANCELLED");

  private RunStates() {}
}
