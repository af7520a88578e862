/**
 * The VMs the sidecar serves ({@code VmRegistry}, {@code VmHandle}), each reached over its QMP
 * monitor or, when libvirt manages it, through libvirt's APIs ({@code LibvirtDomain}, one client
 * per URI in {@code LibvirtHosts}): configured or discovered, connected and reconnected, their
 * QEMU (and libvirt) events published on the event stream.
 *
 * <p>Foundation: may use {@code config}, {@code events}, {@code metrics} and {@code failure};
 * used by the flows and above.
 */
package io.qmpsidecar.sidecar.vm;
