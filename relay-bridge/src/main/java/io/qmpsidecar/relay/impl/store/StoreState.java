package io.qmpsidecar.relay.impl.store;

/**
 * What the store held when it was opened.
 *
 * @param epoch this process's session epoch (one more than the previous start's)
 * @param lastSeq the last sequence number ever assigned (including numbers skipped after an
 *     unclean stop)
 * @param lastAcked the last sequence number the DPU acknowledged
 * @param firstRetained the oldest sequence number still in the outbox ({@code lastSeq + 1} if empty)
 * @param reserved the highest sequence number this run may send before storing it
 * @param skippedFrom the first number skipped because the last run stopped without releasing its
 *     reservation (those numbers may have reached the DPU but were not stored), 0 if none
 */
public record StoreState(long epoch, long lastSeq, long lastAcked, long firstRetained, long reserved,
    long skippedFrom) {}
