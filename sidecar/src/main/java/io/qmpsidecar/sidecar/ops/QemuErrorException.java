package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.qmp.QmpCommandException;

/** QEMU refused a command of the operation; QEMU's error class and text are kept unchanged. */
public class QemuErrorException extends OperationException {
  private final QmpCommandException qemuError;

  public QemuErrorException(String vm, QmpCommandException qemuError) {
    super("VM " + vm + ": QEMU refused " + qemuError.command() + ": " + qemuError.errorClass()
        + ": " + qemuError.description() + hint(qemuError.description()), qemuError);
    this.qemuError = qemuError;
  }

  /** QEMU's error class, e.g. {@code GenericError}. */
  public String errorClass() {
    return qemuError.errorClass();
  }

  /** QEMU's error text, exactly as QEMU sent it. */
  public String description() {
    return qemuError.description();
  }

  public String command() {
    return qemuError.command();
  }

  private static String hint(String desc) {
    if (desc.contains("no such host device")) {
      return "; check the BDF (ls /sys/bus/pci/devices) and the sidecar's sysfs root";
    }
    if (desc.contains("is not viable")) {
      return "; bind every device of the IOMMU group to vfio-pci or unbind it";
    }
    if (desc.contains("Permission denied")) {
      return "; give QEMU's user access to /dev/vfio/N";
    }
    if (desc.contains("does not support hotplugging")) {
      return "; plug into a pcie-root-port, not pcie.0";
    }
    if (desc.contains("Duplicate device ID")) {
      return "; choose another id or detach the existing device";
    }
    return "; fix what QEMU names and retry";
  }
}
