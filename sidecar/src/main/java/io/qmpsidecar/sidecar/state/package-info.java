/**
 * The sidecar's durable state: the attachments it made ({@code Attachment}), per VM, in SQLite.
 *
 * <p>Foundation: may use {@code failure} only; used by the flows and above.
 */
package io.qmpsidecar.sidecar.state;
