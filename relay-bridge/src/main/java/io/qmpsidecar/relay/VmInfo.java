package io.qmpsidecar.relay;

import java.util.Objects;

/**
 * One VM the sidecar serves.
 *
 * @param name the VM's name in the sidecar's configuration
 * @param status QEMU's run state as last seen ({@code query-status} and the run-state events),
 *     e.g. {@code running}, {@code paused}, {@code inmigrate}, {@code prelaunch}; {@code unknown}
 *     until the monitor was connected once
 * @param monitor the sidecar's link to the VM's QMP monitor: {@link #CONNECTED} or
 *     {@link #DISCONNECTED} (then {@code status} may be stale)
 */
public record VmInfo(String name, String status, String monitor) {

  public static final String CONNECTED = "connected";
  public static final String DISCONNECTED = "disconnected";
  public static final String UNKNOWN_STATUS = "unknown";

  public VmInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(status, "status: QEMU's run state, or unknown");
    if (!CONNECTED.equals(monitor) && !DISCONNECTED.equals(monitor)) {
      throw new IllegalArgumentException("monitor is " + monitor + "; it is connected or disconnected");
    }
  }
}
