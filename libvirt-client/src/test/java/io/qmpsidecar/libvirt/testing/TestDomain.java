package io.qmpsidecar.libvirt.testing;

import io.qmpsidecar.qmp.testing.QemuBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Collectors;

/**
 * Minimal transient domains for libvirt tests: q35, TCG, no disks, no network, no USB, ACPI on
 * (libvirt 9.0 passes {@code -no-acpi} without it, which QEMU 10.0 no longer accepts), a chosen
 * number of {@code pcie-root-port}s, and the given QEMU as emulator.
 *
 * <p>A QEMU unpacked outside the system (the backports 10.0 under {@code .qemu/}) needs its own
 * firmware directory and modules, which libvirt cannot pass without tainting the domain
 * ({@code <qemu:commandline>} is "custom-argv"). The emulator is then a small wrapper script
 * that adds {@code -L} and {@code QEMU_MODULE_DIR}; libvirt probes and runs it like any QEMU.
 */
public final class TestDomain {
  private TestDomain() {}

  /** The emulator path libvirt gets for {@code qemu}: the binary itself, or a wrapper in {@code dir}. */
  public static Path emulator(QemuBinary qemu, Path dir) throws IOException {
    if (qemu.command().size() == 1 && qemu.environment().isEmpty()) {
      return qemu.path();
    }
    Files.createDirectories(dir);
    LibvirtDaemon.traversable(dir);
    Path wrapper = dir.resolve("qemu-" + qemu.version());
    String env = qemu.environment().entrySet().stream()
        .map(e -> "export " + e.getKey() + "='" + e.getValue() + "'")
        .collect(Collectors.joining("\n"));
    String exec = qemu.command().stream().map(a -> "'" + a + "'").collect(Collectors.joining(" "));
    Files.writeString(wrapper, "#!/bin/sh\n" + env + "\nexec " + exec + " \"$@\"\n");
    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    return wrapper;
  }

  /** The domain XML: {@code rootPorts} pcie-root-ports (indexes 1..n), {@code memoryMiB} of RAM. */
  public static String xml(String name, Path emulator, int rootPorts, int memoryMiB) {
    StringBuilder ports = new StringBuilder();
    for (int i = 0; i < rootPorts; i++) {
      ports.append("    <controller type='pci' model='pcie-root-port'/>\n");
    }
    return """
        <domain type='qemu'>
          <name>%s</name>
          <memory unit='MiB'>%d</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='q35'>hvm</type></os>
          <features><acpi/></features>
          <devices>
            <emulator>%s</emulator>
            <controller type='pci' model='pcie-root'/>
        %s    <controller type='usb' model='none'/>
            <memballoon model='none'/>
          </devices>
        </domain>
        """.formatted(name, memoryMiB, emulator, ports);
  }

  /** A user-mode (slirp) virtio NIC with a user alias at {@code address}: a stand-in for a DPU function. */
  public static String userNic(String alias, String mac, String addressXml) {
    return """
        <interface type='user'>
          <mac address='%s'/>
          <model type='virtio'/>
          <alias name='%s'/>
          %s
        </interface>
        """.formatted(mac, alias, addressXml);
  }

}
