package io.qmpsidecar.qmp;

/** The reply of {@code query-status}: the run state ({@code running}, {@code paused}, …). */
public record VmStatus(String status, boolean running) {}
