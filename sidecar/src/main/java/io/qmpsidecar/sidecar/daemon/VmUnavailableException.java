package io.qmpsidecar.sidecar.daemon;

/** The VM is configured but its QEMU is not connected right now. */
public final class VmUnavailableException extends RuntimeException {
  private final String vm;

  public VmUnavailableException(String vm, String why) {
    super("VM '" + vm + "' is not connected: " + why + "; the sidecar keeps reconnecting, retry shortly");
    this.vm = vm;
  }

  public String vm() {
    return vm;
  }
}
