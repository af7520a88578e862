package io.qmpsidecar.resilience.surface;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * strace attached to every thread of a running QEMU for the calls through which a request reaches
 * the host: files opened, sockets created, connected, bound, files unlinked, programs run. The
 * effect checks run requests while it is attached and read what QEMU did. Only the strace process
 * this class started is ever signalled (SIGTERM: strace detaches and QEMU runs on).
 */
public final class Strace implements AutoCloseable {
  /** The system calls traced. */
  public static final String CALLS =
      "trace=open,openat,creat,socket,connect,bind,unlink,unlinkat,rename,renameat,renameat2,mknodat,execve";

  private final Process process;
  private final Path log;

  private Strace(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /**
   * Attaches to {@code pid} and returns once strace reports QEMU's main thread attached (where the
   * monitor's commands run) and has had a moment for the other threads.
   */
  public static Strace attach(long pid, Path log) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("strace", "-f", "-p", Long.toString(pid), "-e", CALLS, "-o",
        log.toString()).redirectErrorStream(true).start();
    BufferedReader err = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String main = "Process " + pid + " attached";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    boolean attached = false;
    while (!attached) {
      if (System.nanoTime() > deadline || !p.isAlive()) {
        p.destroyForcibly();
        throw new IllegalStateException("strace did not attach to QEMU " + pid + " within 10 s"
            + " (it needs ptrace: run the tests as root)");
      }
      if (err.ready()) {
        String line = err.readLine();
        attached = line != null && line.contains(main);
      } else {
        Thread.sleep(5);
      }
    }
    Thread.sleep(200);
    Thread drain = new Thread(() -> {
      try {
        while (err.readLine() != null) {
          // strace's own notes (threads attached, detached) are of no interest
        }
      } catch (IOException e) {
        // strace is gone
      }
    }, "strace-stderr");
    drain.setDaemon(true);
    drain.start();
    return new Strace(p, log);
  }

  /** Detaches and returns every traced call QEMU made while attached. */
  public List<String> stop() throws IOException, InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    return Files.exists(log) ? Files.readAllLines(log) : List.of();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroy();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
