package io.qmpsidecar.sidecar.liveupdate;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * How live updates run on this host.
 *
 * @param launcher the command the new QEMU's command line is appended to (e.g. {@code systemd-run
 *     --scope --collect --unit=...}); empty: the sidecar starts it itself
 * @param binaries the QEMU binaries an update may name besides the running QEMU's own path (which
 *     a package upgrade replaces in place): the caller never chooses what the sidecar executes
 * @param workDir where each VM's update keeps its channel sockets and the new QEMU's log
 * @param timeout how long each wait may take: the new QEMU's start, the handover, the old one's end
 */
public record LiveUpdateOptions(List<String> launcher, List<String> binaries, Path workDir, Duration timeout) {
  public LiveUpdateOptions {
    launcher = List.copyOf(launcher);
    binaries = List.copyOf(binaries);
  }
}
