package io.qmpsidecar.relay;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code device.attach}: pass a DPU function into a VM. Bound strictly before the policy sees it.
 * Exactly one of {@code bdf} and {@code mdev} is set.
 *
 * @param opId idempotency key chosen by the DPU (1 to 128 characters); a repeat returns the first outcome
 * @param vm the VM's name in the sidecar's configuration
 * @param bdf the PCI address of the DPU function on the host, lower case, e.g. {@code 0000:03:00.1};
 *     null for a mediated device
 * @param deviceId the QEMU device id to use, or null: the host chooses one and says which in its
 *     {@link OpAccepted}
 * @param mdev the UUID of a mediated device on the host ({@code /sys/bus/mdev/devices/UUID}), lower
 *     case; null for a PCI function. Left out of the stored form when null, so that a request
 *     stored before this member existed compares equal to its repeat.
 */
public record DeviceAttachParams(String opId, String vm, String bdf, String deviceId,
    @JsonInclude(JsonInclude.Include.NON_NULL) String mdev) {

  /** A PCI function's attach. */
  public DeviceAttachParams(String opId, String vm, String bdf, String deviceId) {
    this(opId, vm, bdf, deviceId, null);
  }
}
