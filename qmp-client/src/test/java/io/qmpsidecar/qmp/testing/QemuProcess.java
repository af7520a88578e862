package io.qmpsidecar.qmp.testing;

import io.qmpsidecar.qmp.QmpAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real QEMU started by a test, with its QMP monitor on a Unix socket. Only this process is
 * ever signalled or killed. The default machine is q35 in qtest mode (no guest, starts in
 * milliseconds) with hot-pluggable {@code pcie-root-port}s {@code rp1..rpN}.
 */
public final class QemuProcess implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(15);

  private final QemuBinary binary;
  private final Path dir;
  private final String name;
  private final List<String> extraArgs;
  private final Path qmpSocket;
  private final Path log;
  private Process process;

  private QemuProcess(QemuBinary binary, Path dir, String name, List<String> extraArgs) {
    this.binary = binary;
    this.dir = dir;
    this.name = name;
    this.extraArgs = List.copyOf(extraArgs);
    this.qmpSocket = dir.resolve(name + ".qmp");
    this.log = dir.resolve(name + ".log");
  }

  /** Starts QEMU in qtest mode with {@code rootPorts} root ports and any extra arguments. */
  public static QemuProcess startQtest(QemuBinary binary, Path dir, String name, int rootPorts, String... extra) {
    List<String> args = new ArrayList<>();
    for (int i = 1; i <= rootPorts; i++) {
      args.addAll(List.of("-device", "pcie-root-port,id=rp" + i + ",bus=pcie.0,chassis=" + i + ",slot=" + i));
    }
    args.addAll(List.of(extra));
    QemuProcess q = new QemuProcess(binary, dir, name, args);
    q.start();
    return q;
  }

  public QmpAddress qmpAddress() {
    return QmpAddress.unix(qmpSocket);
  }

  public QemuBinary binary() {
    return binary;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process != null && process.isAlive();
  }

  /** Starts (or starts again, on the same socket path) and waits for the QMP socket. */
  public synchronized void start() {
    if (isAlive()) {
      throw new IllegalStateException(name + " is already running");
    }
    try {
      Files.deleteIfExists(qmpSocket);
      Path qtestSocket = dir.resolve(name + ".qtest");
      Files.deleteIfExists(qtestSocket);
      List<String> cmd = new ArrayList<>(binary.command());
      cmd.addAll(List.of("-machine", "q35", "-qtest", "unix:" + qtestSocket + ",server=on,wait=off",
          "-qmp", "unix:" + qmpSocket + ",server=on,wait=off", "-display", "none", "-nodefaults",
          "-m", "64"));
      cmd.addAll(extraArgs);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
      pb.environment().putAll(binary.environment());
      process = pb.start();
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      // QEMU binds the socket file before it listens: wait until the kernel lists it listening.
      while (!listening(qmpSocket)) {
        if (!process.isAlive()) {
          throw new IllegalStateException(binary + " exited with " + process.exitValue() + ": " + logText());
        }
        if (System.nanoTime() > deadline) {
          kill();
          throw new IllegalStateException(binary + " did not open " + qmpSocket + " within " + START_TIMEOUT);
        }
        Thread.sleep(5);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + binary + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while starting " + binary, e);
    }
  }

  /**
   * Whether /proc/net/unix lists {@code socket} in the listening state (flag __SO_ACCEPTCON):
   * QEMU binds a socket file before it listens on it, so a file that exists may still refuse.
   */
  public static boolean listening(Path socket) {
    if (!Files.exists(socket)) {
      return false;
    }
    String path = socket.toAbsolutePath().toString();
    try (var lines = Files.lines(Path.of("/proc/net/unix"))) {
      return lines.map(l -> l.trim().split("\\s+")).anyMatch(f -> f.length >= 8 && f[7].equals(path)
          && (Integer.parseInt(f[3], 16) & 0x10000) != 0);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/net/unix", e);
    }
  }

  /** SIGKILL, and waits for the process to be gone. */
  public synchronized void kill() {
    if (process != null && process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** SIGSTOP, and waits until every thread of QEMU has stopped: QEMU keeps its sockets open but does nothing. */
  public void suspend() {
    signal("STOP");
    Stopped.await(process.pid(), name);
  }

  /** SIGCONT. */
  public void resume() {
    signal("CONT");
  }

  public String logText() {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "(log unreadable: " + e.getMessage() + ")";
    }
  }

  private void signal(String sig) {
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).start();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kill -" + sig + " " + process.pid() + " failed");
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot signal QEMU: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Resumes a suspended QEMU and kills it; a QEMU that ended meanwhile is fine. */
  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      try {
        resume();
      } catch (IllegalStateException e) {
        if (process.isAlive()) {
          throw e;
        }
      }
    }
    kill();
  }

  @Override
  public String toString() {
    return name + " (" + binary + ")";
  }
}
