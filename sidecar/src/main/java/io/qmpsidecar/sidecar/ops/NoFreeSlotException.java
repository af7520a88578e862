package io.qmpsidecar.sidecar.ops;

import java.util.List;

/** No hot-pluggable PCIe root port of the VM is free (or the requested one is not usable). */
public class NoFreeSlotException extends OperationException {
  private final String vm;
  private final List<String> rootPorts;

  public NoFreeSlotException(String vm, String problem, List<String> rootPorts) {
    super("VM " + vm + ": " + problem + " (root ports: " + (rootPorts.isEmpty() ? "none" : rootPorts)
        + "); add pcie-root-port devices to the VM, e.g. -device pcie-root-port,id=rp9,bus=pcie.0,"
        + "chassis=9,slot=9, or detach a device first");
    this.vm = vm;
    this.rootPorts = List.copyOf(rootPorts);
  }

  public String vm() {
    return vm;
  }

  /** Every hot-pluggable root port the VM has, free or not. */
  public List<String> rootPorts() {
    return rootPorts;
  }
}
