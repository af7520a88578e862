package io.qmpsidecar.sidecar.daemon;

import java.util.Set;

/** A request named a VM this sidecar does not serve. */
public final class VmNotFoundException extends RuntimeException {
  private final String vm;

  public VmNotFoundException(String vm, Set<String> known) {
    super("no VM named '" + vm + "' is configured here; configured VMs: " + known
        + " (VMs come from the sidecar's configuration, see docs/configuration.md)");
    this.vm = vm;
  }

  public String vm() {
    return vm;
  }
}
