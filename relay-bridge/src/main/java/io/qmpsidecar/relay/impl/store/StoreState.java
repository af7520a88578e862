package io.qmpsidecar.relay.impl.store;

/**
 * What the store held when it was opened.
 *
 * @param epoch this process's session epoch (one more than the previous start's)
 * @param lastSeq the last sequence number ever assigned
 * @param lastAcked the last sequence number the DPU acknowledged
 * @param firstRetained the oldest sequence number still in the outbox ({@code lastSeq + 1} if empty)
 */
public record StoreState(long epoch, long lastSeq, long lastAcked, long firstRetained) {}
