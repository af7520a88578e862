package io.qmpsidecar.sidecar.hotplug;

/**
 * The answer to a detach.
 *
 * @param detail what happened, for humans (e.g. why it is pending)
 */
public record DetachResult(String vm, String id, DetachOutcome outcome, String detail) {}
