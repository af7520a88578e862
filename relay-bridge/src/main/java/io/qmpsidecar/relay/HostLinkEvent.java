package io.qmpsidecar.relay;

/**
 * A host connected to, or left, the DPU end.
 *
 * @param hostId the host's id from its hello
 * @param up true when the handshake just succeeded, false when the link closed
 * @param epoch the host process's session epoch
 * @param epochChanged on {@code up}: the epoch differs from the last one this endpoint saw from
 *     the host, or this endpoint never saw the host; the host process (re)started, and what
 *     happened while it was down is in no notification: call {@code state.snapshot} (see
 *     docs/relay-protocol.md, Epoch). False when the link closed.
 * @param cause why the link closed, or null
 */
public record HostLinkEvent(String hostId, boolean up, long epoch, boolean epochChanged, Throwable cause) {}
