package io.qmpsidecar.sidecar.hostprep;

import java.util.Optional;

/**
 * A function ready for {@code vfio-pci}: bound to {@code boundDriver}, its {@code /dev/vfio/N}
 * present.
 *
 * @param previousDriver the driver it had before, when host prep rebound it (restore it with
 *     {@link SysfsHostPrep#restore}); empty when it had none
 * @param rebound whether host prep changed the binding
 */
public record PreparedHost(HostDevice device, String boundDriver, Optional<String> previousDriver,
    boolean rebound) {}
