package io.qmpsidecar.sidecar.liveupdate;

import java.util.List;

/**
 * A completed live update.
 *
 * @param downtimeMs the guest's pause as the old QEMU measured it ({@code query-migrate})
 * @param switchoverMs from {@code migrate-incoming} to the new QEMU running, as the sidecar saw it
 * @param devices the hot-plugged devices recreated on the new QEMU from the sidecar's records
 */
public record LiveUpdateResult(String vm, String opId, long oldPid, long newPid, String oldVersion,
    String newVersion, String machineType, long downtimeMs, long switchoverMs, long totalMs, List<String> devices) {
  public LiveUpdateResult {
    devices = List.copyOf(devices);
  }
}
