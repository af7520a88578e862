/**
 * Where work on a VM is done and where the policy decides, once per request ({@code PolicyGate}):
 * {@code Operations} (attach, detach, reads, QMP passthrough, with one queue per VM) and
 * {@code Migrations} (coordinated migrations). Every failure is a
 * {@link io.qmpsidecar.sidecar.failure.SidecarException}.
 *
 * <p>May use the flows ({@code hotplug}, {@code migration}) and the foundation below them; used
 * by the entry points, {@code daemon} and {@code cli}.
 */
package io.qmpsidecar.sidecar.ops;
