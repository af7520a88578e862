package io.qmpsidecar.sidecar.ops;

/** The VM's operation queue is full; nothing was changed. */
public class VmBusyException extends OperationException {
  public VmBusyException(String vm, int bound) {
    super("VM " + vm + " already has " + bound + " operations queued; retry when they have"
        + " finished (or raise operations.max-queued-per-vm)");
  }
}
