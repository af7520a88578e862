package io.qmpsidecar.resilience.surface;

import io.qmpsidecar.qmp.testing.QemuBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A QEMU in qtest mode for the surface audit, whose monitor the test uses as the administrator.
 * A QEMU unpacked outside the system (scripts/setup's backports QEMU) looks for a module its own
 * module directory lacks in the system's directory, and aborts on a module of the system QEMU's
 * build ({@code qom-list-types} loads every module; measured with QEMU 10.0 and the host's 7.2
 * modules: "Only modules from the same build can be loaded", then an assertion). Such a QEMU runs
 * in a mount namespace of its own where its module directory stands in for the system's (needs
 * root, as the fault ITs do). Only this process is ever killed.
 */
public final class SurfaceQemu implements AutoCloseable {
  private static final Path SYSTEM_MODULES = Path.of("/usr/lib/x86_64-linux-gnu/qemu");
  private static final Duration START = Duration.ofSeconds(20);

  private final Process process;
  private final Path qmp;

  private SurfaceQemu(Process process, Path qmp) {
    this.process = process;
    this.qmp = qmp;
  }

  /** Starts QEMU with its monitor at {@code dir/NAME.qmp} and waits until it listens. */
  public static SurfaceQemu start(QemuBinary binary, Path dir, String name) throws IOException,
      InterruptedException {
    Path qmp = dir.resolve(name + ".qmp");
    List<String> cmd = new ArrayList<>();
    String modules = binary.environment().get("QEMU_MODULE_DIR");
    if (modules != null && Files.isDirectory(SYSTEM_MODULES)) {
      cmd.addAll(List.of("unshare", "--mount", "sh", "-c",
          "mount --bind \"$0\" " + SYSTEM_MODULES + " && exec \"$@\"", modules));
    }
    cmd.addAll(binary.command());
    cmd.addAll(List.of("-machine", "q35", "-qtest", "unix:" + dir.resolve(name + ".qtest") + ",server=on,wait=off",
        "-qmp", "unix:" + qmp + ",server=on,wait=off", "-display", "none", "-nodefaults", "-m", "64"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
    pb.environment().putAll(binary.environment());
    Process process = pb.start();
    long deadline = System.nanoTime() + START.toNanos();
    while (!Files.exists(qmp)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        process.destroyForcibly();
        throw new IllegalStateException(binary + " did not open " + qmp + " within " + START + ": "
            + Files.readString(dir.resolve(name + ".log")));
      }
      Thread.sleep(10);
    }
    return new SurfaceQemu(process, qmp);
  }

  /** Connects to the monitor as the administrator (retrying until QEMU listens). */
  public QmpLine monitor() throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    while (true) {
      try {
        return QmpLine.connect(qmp, Duration.ofSeconds(10));
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline || !process.isAlive()) {
          throw e;
        }
        Thread.sleep(20);
      }
    }
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }
}
