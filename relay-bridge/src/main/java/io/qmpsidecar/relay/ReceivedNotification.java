package io.qmpsidecar.relay;

import java.util.Map;

/**
 * A notification as the DPU end delivers it: once, in sequence order, per host.
 *
 * @param hostId the host that sent it
 * @param seq its sequence number (for {@code state.snapshot}: the last one the snapshot covers)
 * @param method e.g. {@code op.completed}
 * @param params its members without {@code seq}
 */
public record ReceivedNotification(String hostId, long seq, String method, Map<String, Object> params) {}
