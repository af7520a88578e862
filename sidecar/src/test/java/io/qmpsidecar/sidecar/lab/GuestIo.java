package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.QmpConnection;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Port I/O in an L2 without a guest OS: QEMU's HMP {@code o} and {@code i} commands (through QMP's
 * {@code human-monitor-command}) write and read the guest's I/O address space as its CPU would,
 * so the accesses reach a VFIO device's I/O BAR through QEMU's own VFIO region handling. PCI
 * configuration space goes through the q35 host bridge's 0xcf8/0xcfc ports.
 *
 * <p>The L2s' SeaBIOS numbers the root ports' buses at boot, but nothing assigns resources to a
 * device hot-plugged later (that is the guest OS's job); {@link #openIoWindow} does it for one
 * device with an I/O BAR 0 behind a root port, as a guest's PCI code would. The 0xcf8 address
 * register is shared with the guest's CPU: firmware still running would interleave its own
 * accesses between the two HMP commands of one access, and the data would go to another register.
 * So every configuration access here runs with the VM stopped.
 *
 * <p>The L2s run no guest OS to acknowledge an unplug either; {@link #acpiEject} does what the
 * guest OS's ACPI hotplug code would.
 *
 * <p>HMP sizes: {@code /b} 8 bits, {@code /w} 32 bits.
 */
final class GuestIo {
  private static final Pattern VALUE = Pattern.compile("=\\s*0x([0-9a-fA-F]+)");
  private static final int CONFIG_ADDRESS = 0xcf8;
  private static final int CONFIG_DATA = 0xcfc;
  /** The Command register's offset in a function's configuration space. */
  private static final int COMMAND = 0x04;
  /** q35's ACPI PCI hotplug registers (QEMU's hw/acpi/pcihp.c, at 0xcc0 on the ICH9): bus select. */
  private static final int PCIHP_SELECT = 0xcd0;
  /** ... and eject: a write of a slot's bit unplugs the device in that slot of the selected bus. */
  private static final int PCIHP_EJECT = 0xcc8;

  private final QmpConnection qmp;

  GuestIo(QmpConnection qmp) {
    this.qmp = qmp;
  }

  void outb(int port, int value) {
    hmp(String.format("o /b 0x%x 0x%x", port, value & 0xff));
  }

  private void outl(int port, int value) {
    String output = hmp(String.format("o /w 0x%x 0x%x", port, value));
    if (!output.isEmpty()) {
      throw new AssertionError("HMP refused the write of 0x" + Integer.toHexString(value) + " to port 0x"
          + Integer.toHexString(port) + ": " + output);
    }
  }

  int inb(int port) {
    return value(hmp(String.format("i /b 0x%x", port)));
  }

  /**
   * Sets {@code bits} in the Command register of a device, as its guest driver would (with the VM
   * stopped, see the class comment).
   */
  void setCommandBits(int bus, int device, int function, int bits) {
    whileStopped(() -> {
      int command = configRead(bus, device, function, COMMAND) & 0xffff;
      configWrite(bus, device, function, COMMAND, command | bits);
      return null;
    });
  }

  private int configRead(int bus, int device, int function, int register) {
    hmp(String.format("o /w 0x%x 0x%x", CONFIG_ADDRESS, configAddress(bus, device, function, register)));
    return value(hmp(String.format("i /w 0x%x", CONFIG_DATA)));
  }

  private void configWrite(int bus, int device, int function, int register, int value) {
    hmp(String.format("o /w 0x%x 0x%x", CONFIG_ADDRESS, configAddress(bus, device, function, register)));
    hmp(String.format("o /w 0x%x 0x%x", CONFIG_DATA, value));
  }

  /**
   * Completes the pending unplug of device {@code id} as a guest OS's ACPI {@code _EJ0} method
   * does on q35, whose root ports use ACPI hotplug: selects the device's bus by the number the
   * firmware tables gave it ({@code acpi-pcihp-bsel}) and writes the device's slot bit to the eject
   * register. QEMU unplugs the device there and then (and sends {@code DEVICE_DELETED}), outside
   * any reset.
   */
  void acpiEject(String id) {
    String device = "/machine/peripheral/" + id;
    String bus = result(qmp.qomGet(device, "parent_bus")).asText();
    int bsel = result(qmp.qomGet(bus, "acpi-pcihp-bsel")).asInt();
    int slot = result(qmp.qomGet(device, "addr")).asInt() >> 3;
    outl(PCIHP_SELECT, bsel);
    outl(PCIHP_EJECT, 1 << slot);
  }

  /**
   * Routes the 4 KiB of I/O space at {@code base} through the root port at slot {@code rootSlot}
   * of bus 0 to the device behind it (device 0, function 0 of its secondary bus), puts that
   * device's BAR 0 at {@code base} and enables I/O decoding on both.
   *
   * @return the root port's secondary bus number
   */
  int openIoWindow(int rootSlot, int base) {
    if ((base & 0xfff) != 0 || base <= 0 || base > 0xf000) {
      throw new IllegalArgumentException("an I/O window is 4 KiB aligned below 64 KiB: " + Integer.toHexString(base));
    }
    return whileStopped(() -> {
      int buses = configRead(0, rootSlot, 0, 0x18);
      int secondary = (buses >> 8) & 0xff;
      if (secondary == 0) {
        throw new AssertionError("the root port at 00:" + rootSlot + ".0 has no secondary bus: the L2's"
            + " firmware did not number it (is the L2 paused with -S?)");
      }
      int window = (base >> 8) & 0xf0;
      configWrite(0, rootSlot, 0, 0x1c, window | (window << 8));
      configWrite(0, rootSlot, 0, COMMAND, (configRead(0, rootSlot, 0, COMMAND) & 0xffff) | 0x7);
      configWrite(secondary, 0, 0, 0x10, base);
      configWrite(secondary, 0, 0, COMMAND, (configRead(secondary, 0, 0, COMMAND) & 0xffff) | 0x1);
      int bar = configRead(secondary, 0, 0, 0x10);
      if ((bar & ~0x3) != base) {
        throw new AssertionError(String.format("BAR 0 of %02x:00.0 reads 0x%x after writing 0x%x", secondary, bar, base));
      }
      return secondary;
    });
  }

  private <T> T whileStopped(Supplier<T> access) {
    boolean running = result(qmp.queryStatus()).running();
    if (running) {
      result(qmp.stop());
    }
    try {
      return access.get();
    } finally {
      if (running) {
        result(qmp.cont());
      }
    }
  }

  private String hmp(String commandLine) {
    return result(qmp.execute("human-monitor-command",
        JsonNodeFactory.instance.objectNode().put("command-line", commandLine))).asText();
  }

  private static int configAddress(int bus, int device, int function, int register) {
    return 0x80000000 | bus << 16 | device << 11 | function << 8 | (register & 0xfc);
  }

  private static int value(String hmpOutput) {
    Matcher m = VALUE.matcher(hmpOutput);
    if (!m.find()) {
      throw new AssertionError("unexpected HMP output: " + hmpOutput);
    }
    return (int) Long.parseLong(m.group(1), 16);
  }
}
