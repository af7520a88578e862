/**
 * The flows of VMs managed by libvirt, through libvirt's APIs only (never QEMU's monitor, which
 * would taint the domain): attach with {@code virDomainAttachDeviceFlags} on a free root port of
 * the live XML, verified there; detach by alias with completion on {@code device-removed};
 * pending removals and reconciliation against the live XML; migrations driven with
 * {@code virDomainMigrate3} and those libvirt runs on its own followed. They publish the same
 * events and keep the same state as the QMP flows ({@code hotplug}, {@code migration}).
 *
 * <p>A flow: may use the foundation ({@code hostprep}, {@code state}, {@code events}, {@code vm},
 * {@code config}, {@code metrics}), {@code failure} and the request and result types of
 * {@code hotplug}; used by {@code ops} and above.
 */
package io.qmpsidecar.sidecar.libvirt;
