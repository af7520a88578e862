package io.qmpsidecar.sidecar.demo;

import io.qmpsidecar.qmp.QmpAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway QEMU for the demo: q35 in qtest mode (no guest image needed), 64 MiB, two
 * hot-pluggable root ports, its QMP monitor on a Unix socket. Only this process is killed.
 */
final class DemoQemu implements AutoCloseable {
  private static final Duration START = Duration.ofSeconds(15);
  private final Process process;
  private final Path socket;

  private DemoQemu(Process process, Path socket) {
    this.process = process;
    this.socket = socket;
  }

  static DemoQemu start(Path binary, Path dir, String name, String... extra) throws IOException, InterruptedException {
    Path socket = dir.resolve(name + ".qmp");
    List<String> cmd = new ArrayList<>(List.of(binary.toString()));
    Path root = binary.toAbsolutePath().getParent().getParent().getParent();
    boolean unpacked = root != null && root.getNameCount() > 0 && Files.isDirectory(root.resolve("usr/share/qemu"));
    if (unpacked) {
      cmd.addAll(List.of("-L", root.resolve("usr/share/qemu").toString()));
    }
    cmd.addAll(List.of("-machine", "q35", "-qtest", "unix:" + dir.resolve(name + ".qtest") + ",server=on,wait=off",
        "-qmp", "unix:" + socket + ",server=on,wait=off", "-display", "none", "-nodefaults", "-m", "64",
        "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,slot=1",
        "-device", "pcie-root-port,id=rp2,bus=pcie.0,chassis=2,slot=2"));
    cmd.addAll(List.of(extra));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    if (unpacked) {
      pb.environment().put("QEMU_MODULE_DIR", root.resolve("usr/lib/x86_64-linux-gnu/qemu").toString());
    }
    DemoQemu q = new DemoQemu(pb.start(), socket);
    long deadline = System.nanoTime() + START.toNanos();
    while (!q.listening()) {
      if (!q.process.isAlive() || System.nanoTime() > deadline) {
        q.close();
        throw new IOException(binary + " did not open its QMP socket within " + START.toSeconds() + " s; see "
            + dir.resolve(name + ".log"));
      }
      Thread.sleep(10);
    }
    return q;
  }

  QmpAddress address() {
    return QmpAddress.unix(socket);
  }

  /** QEMU binds its socket before it listens: wait for the kernel to list it as listening. */
  private boolean listening() throws IOException {
    String path = socket.toAbsolutePath().toString();
    try (var lines = Files.lines(Path.of("/proc/net/unix"))) {
      return lines.map(l -> l.trim().split("\\s+"))
          .anyMatch(f -> f.length >= 8 && f[7].equals(path) && (Integer.parseInt(f[3], 16) & 0x10000) != 0);
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
