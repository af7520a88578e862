package io.qmpsidecar.sidecar.automation;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Drives a qtest-mode QEMU the way a guest would: {@link #panic} writes to the ISA {@code pvpanic}
 * device's port as a panicking guest kernel does, and QEMU emits {@code GUEST_PANICKED}
 * (the VM needs {@code -device pvpanic}; {@code -action panic=pause} keeps QEMU running).
 */
final class Qtest {
  /** The pvpanic device's default I/O port; bit 0 written means "panicked". */
  private static final String PANIC = "outb 0x505 0x1\n";

  private Qtest() {}

  /** The qtest socket {@code QemuProcess} gives VM {@code name} in {@code dir}. */
  static void panic(Path dir, String name) {
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      channel.connect(UnixDomainSocketAddress.of(dir.resolve(name + ".qtest")));
      channel.write(ByteBuffer.wrap(PANIC.getBytes(StandardCharsets.US_ASCII)));
      ByteBuffer reply = ByteBuffer.allocate(64);
      while (reply.position() < 3 && channel.read(reply) >= 0) {
        // qtest answers "OK\n" once the write reached the device
      }
      String answer = new String(reply.array(), 0, reply.position(), StandardCharsets.US_ASCII);
      if (!answer.startsWith("OK")) {
        throw new IllegalStateException("qtest answered '" + answer.strip() + "' to " + PANIC.strip());
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot reach the qtest socket of " + name + ": " + e.getMessage(), e);
    }
  }
}
