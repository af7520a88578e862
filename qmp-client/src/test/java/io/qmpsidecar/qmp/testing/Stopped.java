package io.qmpsidecar.qmp.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Waits for a process sent SIGSTOP to have really stopped. {@code kill} returns once the signal is
 * sent; a thread running on another CPU stops when it next enters the kernel, and until then it
 * could still answer a client.
 */
public final class Stopped {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private Stopped() {}

  /** Returns once every thread of {@code pid} is in state T; fails naming {@code what} after 5 s. */
  public static void await(long pid, String what) {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!allStopped(tasks)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(what + " (pid " + pid + ") did not stop within " + TIMEOUT + " of SIGSTOP");
      }
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while stopping " + what, e);
      }
    }
  }

  /** Whether every thread under {@code tasks} ({@code /proc/PID/task}) is in state T (stopped). */
  private static boolean allStopped(Path tasks) {
    try (var threads = Files.list(tasks)) {
      return threads.allMatch(t -> {
        try {
          String stat = Files.readString(t.resolve("stat"));
          // The state follows the command name, which is in parentheses and may hold any character.
          return stat.charAt(stat.lastIndexOf(')') + 2) == 'T';
        } catch (IOException e) {
          return true;
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + tasks, e);
    }
  }
}
