package io.qmpsidecar.sidecar.libvirt;

import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.util.List;

/** How a libvirt VM's state refuses an attach, a detach or a migration. */
final class LibvirtFailures {
  private LibvirtFailures() {}

  static SidecarException noFreeSlot(String vm, String problem, List<String> rootPorts) {
    return SidecarException.of(Kind.CONFLICT, "conflict", "VM " + vm + ": " + problem + " (root ports in the live XML: "
            + (rootPorts.isEmpty() ? "none" : rootPorts) + ")")
        .vm(vm).detail("rootPorts", List.copyOf(rootPorts))
        .fix("give the domain more <controller type='pci' model='pcie-root-port'/> (Nova: [libvirt] num_pcie_ports),"
            + " or detach a device first").build();
  }

  static SidecarException conflict(String vm, String message) {
    return SidecarException.of(Kind.CONFLICT, "conflict", message).vm(vm).build();
  }

  static SidecarException migrating(String vm, String operation) {
    return SidecarException.of(Kind.MIGRATING, "migration-active", "VM " + vm + " is migrating (libvirt job "
            + operation + "); libvirt refuses hotplug while migrating")
        .vm(vm).detail("vm", vm).detail("migrationStatus", operation)
        .fix("wait for the migration to finish or cancel it, then retry").build();
  }

  static SidecarException invalid(String vm, String message) {
    return SidecarException.of(Kind.INVALID, "bad-request", message).vm(vm).build();
  }

  static SidecarException unverified(String vm, String message) {
    return SidecarException.of(Kind.FAILED, "operation-failed", message).vm(vm)
        .fix("compare virsh dumpxml with the request; the sidecar undid what it could").build();
  }
}
