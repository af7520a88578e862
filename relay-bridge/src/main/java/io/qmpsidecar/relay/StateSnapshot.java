package io.qmpsidecar.relay;

import java.util.List;

/**
 * Everything the DPU needs to rebuild its view of the host: sent as the {@code state.snapshot}
 * answer, and as a notification when the DPU's last ack is older than the outbox retains.
 *
 * @param vms every VM the sidecar serves
 * @param devices every device passed into them
 */
public record StateSnapshot(List<VmInfo> vms, List<DeviceInfo> devices) {

  public StateSnapshot {
    vms = List.copyOf(vms);
    devices = List.copyOf(devices);
  }
}
