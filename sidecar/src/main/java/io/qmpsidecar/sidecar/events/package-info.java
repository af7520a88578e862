/**
 * The in-process event stream: QEMU's events and the sidecar's own, numbered, kept in a bounded
 * log for replay, and fanned out to bounded subscriber queues.
 *
 * <p>Foundation: uses no other sidecar package; used by every layer above.
 */
package io.qmpsidecar.sidecar.events;
