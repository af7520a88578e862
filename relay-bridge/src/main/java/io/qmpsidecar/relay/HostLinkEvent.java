package io.qmpsidecar.relay;

/**
 * A host connected to, or left, the DPU end.
 *
 * @param hostId the host's id from its hello
 * @param up true when the handshake just succeeded, false when the link closed
 * @param epoch the host process's session epoch
 * @param cause why the link closed, or null
 */
public record HostLinkEvent(String hostId, boolean up, long epoch, Throwable cause) {}
