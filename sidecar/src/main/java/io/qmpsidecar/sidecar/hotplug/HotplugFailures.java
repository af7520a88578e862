package io.qmpsidecar.sidecar.hotplug;

import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.util.List;

/** How an attach or detach is refused by the VM's state. */
final class HotplugFailures {
  private HotplugFailures() {}

  /** No hot-pluggable root port is free, or the requested one is not usable. */
  static SidecarException noFreeSlot(String vm, String problem, List<String> rootPorts) {
    return SidecarException.of(Kind.CONFLICT, "conflict", "VM " + vm + ": " + problem + " (root ports: "
            + (rootPorts.isEmpty() ? "none" : rootPorts) + ")")
        .vm(vm).detail("rootPorts", List.copyOf(rootPorts))
        .fix("add pcie-root-port devices to the VM, e.g. -device pcie-root-port,id=rp9,bus=pcie.0,chassis=9,slot=9,"
            + " or detach a device first").build();
  }

  /** A probe of the VM's slots got no answer: nothing was added. */
  static SidecarException placementUnknown(String vm, String what, Throwable cause) {
    SidecarException why = SidecarException.from(cause);
    return SidecarException.of(why.kind(), "placement-unknown", "VM " + vm + ": cannot tell " + what + " ("
            + cause.getMessage() + "); nothing was added")
        .vm(vm).cause(cause).fix("check that QEMU answers (query-status), then retry").build();
  }

  /** The device id or host function is already used in a way that differs from the request. */
  static SidecarException conflict(String vm, String message) {
    return SidecarException.of(Kind.CONFLICT, "conflict", message).vm(vm).build();
  }

  /** QEMU refuses hotplug while migrating ("device_add not allowed while migrating"). */
  static SidecarException migrating(String vm, String status) {
    return SidecarException.of(Kind.MIGRATING, "migration-active", "VM " + vm + " is migrating (status " + status
            + "); QEMU refuses hotplug while migrating")
        .vm(vm).detail("vm", vm).detail("migrationStatus", status)
        .fix("wait for the migration to finish or cancel it (migrate_cancel), then retry").build();
  }

  /** QEMU accepted {@code device_add} but the device did not show up as it should. */
  static SidecarException unverified(String vm, String message, Throwable cause) {
    return SidecarException.of(Kind.FAILED, "operation-failed", message).vm(vm).cause(cause).build();
  }
}
