package io.qmpsidecar.sidecar.hotplug;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What to attach to which VM.
 *
 * @param vm the VM's name in the sidecar's configuration
 * @param driver the QEMU device driver: {@code vfio-pci} (or a variant) for a host function, or an
 *     emulated device such as {@code e1000e} (then {@code function} is null and host prep is skipped)
 * @param function the host function or mdev for a VFIO driver, else null
 * @param hostDriver the host driver to bind the function to ({@code vfio-pci} or a variant such as
 *     {@code mlx5_vfio_pci}); null to require that it is already bound to one (always null for an
 *     mdev, which is never rebound)
 * @param id the QEMU device id; null derives {@code hp-<bdf>} from the function or {@code hp-<uuid>}
 *     from the mdev (required for an emulated device)
 * @param rootPort the {@code pcie-root-port} id to plug into; null picks a free one
 * @param options optional {@code vfio-pci} properties
 * @param opId the operation's id, carried on every event and log line; null has the operations
 *     layer assign one
 */
public record AttachRequest(String vm, String driver, FunctionRef function, String hostDriver,
    String id, String rootPort, DeviceOptions options, String opId) {
  private static final Pattern ID = Pattern.compile("[A-Za-z][A-Za-z0-9._-]{0,63}");

  public AttachRequest {
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(driver, "driver");
    options = options == null ? DeviceOptions.NONE : options;
    if (usesHostFunction(driver) && function == null) {
      throw new IllegalArgumentException(driver + " needs a host function (BDF, PF and VF index, or mdev UUID)");
    }
    if (!usesHostFunction(driver) && function != null) {
      throw new IllegalArgumentException(driver + " is emulated and takes no host function");
    }
    if (function != null && function.mdev() != null && hostDriver != null) {
      throw new IllegalArgumentException("an mdev is never rebound: leave hostDriver out (its parent's"
          + " driver created it for VFIO)");
    }
    if (function == null && id == null) {
      throw new IllegalArgumentException("an emulated " + driver + " device needs an id");
    }
    if (id != null && !ID.matcher(id).matches()) {
      throw new IllegalArgumentException("invalid device id '" + id
          + "': 1-64 characters from A-Z a-z 0-9 . _ -, starting with a letter");
    }
  }

  /** The same request with {@code opId} as its operation id. */
  public AttachRequest withOpId(String opId) {
    return new AttachRequest(vm, driver, function, hostDriver, id, rootPort, options, opId);
  }

  /** The same request with {@code options} as its {@code vfio-pci} properties. */
  AttachRequest withOptions(DeviceOptions options) {
    return new AttachRequest(vm, driver, function, hostDriver, id, rootPort, options, opId);
  }

  /** Whether the QEMU driver passes a host function through (every {@code vfio-pci} variant). */
  public static boolean usesHostFunction(String driver) {
    return driver.startsWith("vfio-pci");
  }
}
