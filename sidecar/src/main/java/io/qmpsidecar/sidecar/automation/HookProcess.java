package io.qmpsidecar.sidecar.automation;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs one hook program to its end, blocking: only ever on a worker thread. Its standard input is
 * a file holding the input (so a program that does not read it can never block the sidecar), its
 * environment is exactly the one given, its output is captured up to {@link #OUTPUT_LIMIT} bytes
 * per stream while it runs (so it never blocks on a full pipe), and at the timeout it is killed
 * with everything it started. Output that a program's children keep writing after it exited is
 * not waited for.
 */
final class HookProcess {
  /** Bytes kept of each of stdout and stderr; the rest is counted and dropped. */
  static final int OUTPUT_LIMIT = 64 * 1024;
  private static final long POLL_MS = 5;

  /**
   * How a run ended.
   *
   * @param exit the exit status, or -1 when it did not exit by itself
   * @param timedOut killed at the timeout
   * @param startFailure why it could not be started, or null
   * @param stdout the captured standard output
   * @param stderr the captured standard error
   * @param truncated whether either stream was longer than {@link #OUTPUT_LIMIT}
   * @param millis how long it ran
   */
  record Result(int exit, boolean timedOut, String startFailure, String stdout, String stderr, boolean truncated,
      long millis) {
    boolean succeeded() {
      return exit == 0 && !timedOut && startFailure == null;
    }

    /** Why it did not succeed, in words; null when it did. */
    String failure(Duration timeout) {
      if (startFailure != null) {
        return "could not be started: " + startFailure;
      }
      if (timedOut) {
        return "did not finish within " + timeout.toMillis() + " ms and was killed";
      }
      return exit == 0 ? null : "exited with status " + exit;
    }
  }

  private HookProcess() {}

  static Result run(List<String> command, Map<String, String> environment, byte[] input, Duration timeout) {
    long start = System.nanoTime();
    Process process;
    try {
      Path stdin = Files.createTempFile("qmp-sidecar-hook-", ".json");
      try {
        Files.write(stdin, input);
        ProcessBuilder builder = new ProcessBuilder(command).redirectInput(stdin.toFile());
        builder.environment().clear();
        builder.environment().putAll(environment);
        process = builder.start();
      } finally {
        // The started program holds the file open; its name is not needed any more.
        Files.deleteIfExists(stdin);
      }
    } catch (IOException e) {
      return new Result(-1, false, e.getMessage(), "", "", false, millisSince(start));
    }
    Capture out = new Capture(process.getInputStream());
    Capture err = new Capture(process.getErrorStream());
    long deadline = start + timeout.toNanos();
    boolean timedOut = false;
    try {
      while (true) {
        out.drain();
        err.drain();
        if (process.waitFor(POLL_MS, TimeUnit.MILLISECONDS)) {
          break;
        }
        if (System.nanoTime() - deadline > 0) {
          timedOut = true;
          kill(process);
          break;
        }
      }
    } catch (InterruptedException e) {
      // The sidecar is stopping: the program does not outlive it.
      Thread.currentThread().interrupt();
      timedOut = true;
      kill(process);
    }
    out.drain();
    err.drain();
    out.close();
    err.close();
    int exit = timedOut ? -1 : process.exitValue();
    return new Result(exit, timedOut, null, out.text(), err.text(), out.truncated || err.truncated, millisSince(start));
  }

  /** SIGKILL to the program and everything it started, then a bounded wait for the program. */
  private static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static long millisSince(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  /** One output stream, read without blocking: only what is available. */
  private static final class Capture {
    private final InputStream in;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final byte[] buffer = new byte[8192];
    private boolean truncated;
    private boolean closed;

    Capture(InputStream in) {
      this.in = in;
    }

    void drain() {
      if (closed) {
        return;
      }
      try {
        int available;
        while ((available = in.available()) > 0) {
          int n = in.read(buffer, 0, Math.min(buffer.length, available));
          if (n < 0) {
            return;
          }
          int keep = Math.min(n, OUTPUT_LIMIT - kept.size());
          kept.write(buffer, 0, keep);
          truncated |= keep < n;
        }
      } catch (IOException e) {
        // The pipe is gone (the program and its children closed it): nothing more to read.
        closed = true;
      }
    }

    void close() {
      closed = true;
      try {
        in.close();
      } catch (IOException e) {
        // Closing our end of a pipe cannot fail in a way that matters here.
      }
    }

    String text() {
      return kept.toString(StandardCharsets.UTF_8);
    }
  }
}
