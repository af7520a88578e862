package io.qmpsidecar.relay;

/**
 * One VM the sidecar serves.
 *
 * @param name the VM's name in the sidecar's configuration
 * @param status QEMU's run state, e.g. {@code running}, {@code paused}, {@code inmigrate}
 */
public record VmInfo(String name, String status) {}
