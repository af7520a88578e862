package io.qmpsidecar.sidecar.libvirt;

import io.qmpsidecar.libvirt.DomainXml;
import io.qmpsidecar.sidecar.hostprep.Bdf;

/**
 * The device XML a libvirt attach sends: {@code <hostdev mode='subsystem' type='pci'>} for a host
 * function, {@code <interface type='user'>} for an emulated stand-in (a test without an IOMMU),
 * each with the sidecar's user alias and an explicit address on the chosen root port.
 */
final class DeviceXml {
  /** libvirt requires user aliases to start with this; the sidecar's device id follows it. */
  static final String ALIAS_PREFIX = "ua-";

  private DeviceXml() {}

  static String alias(String id) {
    return ALIAS_PREFIX + id;
  }

  /** The sidecar's device id of a user alias, or null when the alias is not one of the form. */
  static String id(String alias) {
    return alias != null && alias.startsWith(ALIAS_PREFIX) ? alias.substring(ALIAS_PREFIX.length()) : null;
  }

  /** A host function: libvirt binds it itself when {@code managed}, else it must be bound to vfio-pci already. */
  static String hostdev(String id, Bdf host, boolean managed, Integer rombar, DomainXml.PciAddress at) {
    String[] parts = host.value().split("[:.]");
    return "<hostdev mode='subsystem' type='pci' managed='" + (managed ? "yes" : "no") + "'>"
        + "<driver name='vfio'/>"
        + "<source><address domain='0x" + parts[0] + "' bus='0x" + parts[1] + "' slot='0x" + parts[2]
        + "' function='0x" + parts[3] + "'/></source>"
        + (rombar != null && rombar == 0 ? "<rom bar='off'/>" : "")
        + "<alias name='" + alias(id) + "'/>" + at.toXml() + "</hostdev>";
  }

  /** An emulated NIC standing in for a DPU function: QEMU's {@code driver} as libvirt's model. */
  static String standIn(String id, String driver, DomainXml.PciAddress at) {
    return "<interface type='user'><model type='" + model(driver) + "'/>"
        + "<alias name='" + alias(id) + "'/>" + at.toXml() + "</interface>";
  }

  /** libvirt's model name for a QEMU NIC driver ({@code virtio-net-pci} is libvirt's {@code virtio}). */
  static String model(String driver) {
    return driver.startsWith("virtio-net") ? "virtio" : driver;
  }
}
