package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code socat} (installed by scripts/setup) as a QMP client: lines go to its stdin,
 * what it prints comes back line by line. Only the process this class started is ever killed.
 */
final class Socat implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long WAIT_SECONDS = 20;

  private final Process process;
  private final OutputStream stdin;
  private final BlockingQueue<String> stdout = new LinkedBlockingQueue<>(10_000);

  Socat(Path socket) {
    try {
      process = new ProcessBuilder("socat", "-", "UNIX-CONNECT:" + socket)
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot run socat (scripts/setup installs it): " + e, e);
    }
    stdin = process.getOutputStream();
    Thread reader = new Thread(this::pump, "socat-stdout-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  private void pump() {
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!stdout.offer(line)) {
          return;
        }
      }
    } catch (IOException e) {
      stdout.offer("socat stdout failed: " + e);
    }
  }

  void send(String line) {
    try {
      stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("socat's stdin is closed (socat exited?)", e);
    }
  }

  /** The next line socat printed, as JSON; fails after 20 s. */
  JsonNode next() {
    try {
      String line = stdout.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (line == null) {
        throw new AssertionError("socat printed nothing within " + WAIT_SECONDS + " s");
      }
      return JSON.readTree(line);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    } catch (IOException e) {
      throw new AssertionError("socat printed a line that is not JSON", e);
    }
  }

  /** Sends a line and returns the next line printed. */
  JsonNode call(String line) {
    send(line);
    return next();
  }

  /** Closes socat's stdin and waits for it to exit; returns its exit code. */
  int finish() {
    try {
      stdin.close();
      if (!process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("socat did not exit within " + WAIT_SECONDS + " s of EOF");
      }
      return process.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** Lines socat printed and nobody read yet. */
  int unread() {
    return stdout.size();
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
