package io.qmpsidecar.qmp;

/**
 * What {@code add-fd} returns: the fd set the descriptor joined and its number inside QEMU,
 * which {@code /dev/fdset/ID} paths and {@code remove-fd} refer to.
 */
public record AddedFd(int fdsetId, int fd) {}
