package io.qmpsidecar.qmp;

import java.util.List;

/**
 * One device in {@code query-pci}. {@code qdevId} is the {@code id} given at {@code device_add}
 * (empty when none); {@code secondaryBus} and {@code children} are set for bridges and root ports.
 */
public record PciDevice(
    int bus, int slot, int function, String qdevId, int classCode, int vendorId, int deviceId,
    Integer secondaryBus, List<PciDevice> children) {

  public PciDevice {
    qdevId = qdevId == null ? "" : qdevId;
    children = List.copyOf(children);
  }

  /** The guest address as {@code BB:SS.F} in hex. */
  public String address() {
    return String.format("%02x:%02x.%x", bus, slot, function);
  }

  public boolean isBridge() {
    return secondaryBus != null;
  }
}
