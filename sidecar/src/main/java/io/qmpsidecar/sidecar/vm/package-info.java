/**
 * The VMs the sidecar serves, each reached over its QMP monitor ({@code VmRegistry},
 * {@code VmHandle}): configured or discovered, connected and reconnected, their QEMU events
 * published on the event stream.
 *
 * <p>Foundation: may use {@code config}, {@code events}, {@code metrics} and {@code failure};
 * used by the flows and above.
 */
package io.qmpsidecar.sidecar.vm;
