/**
 * The attach and detach flows of one VM: migration check, host facts, idempotency, placement,
 * the decision (asked of the operations layer through {@code AttachAuthorizer}), host prep,
 * {@code device_add}, verification, rollback; {@code device_del} with real completion, pending
 * removals and reconciliation.
 *
 * <p>A flow: may use {@code hostprep}, {@code state}, {@code events}, {@code vm},
 * {@code config}, {@code metrics} and {@code failure}; used by {@code ops} and above.
 */
package io.qmpsidecar.sidecar.hotplug;
