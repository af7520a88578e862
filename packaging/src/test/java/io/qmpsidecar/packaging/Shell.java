package io.qmpsidecar.packaging;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands for the packaging tests, each with a bound: its output goes to files (no pipe to
 * fill), and a command still running at its deadline is killed and reported as such.
 */
final class Shell {
  /** The PATH systemd gives services, and the tests give every command. */
  static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private Shell() {}

  record Result(List<String> command, int exit, String out, String err) {
    /** What it printed, stdout then stderr, as a transcript compares it. */
    List<String> lines() {
      List<String> all = new ArrayList<>(out.lines().toList());
      all.addAll(err.lines().toList());
      return all;
    }

    Result ok() {
      if (exit != 0) {
        throw new AssertionError(command + " exited with " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err);
      }
      return this;
    }

    @Override
    public String toString() {
      return String.join(" ", command) + " [exit " + exit + "]\n" + out + err;
    }
  }

  /** Runs {@code command} in {@code dir} with exactly {@code env} (no inherited variables) and no stdin. */
  static Result run(List<String> command, Map<String, String> env, Path dir, Duration timeout) {
    try {
      Path out = Files.createTempFile("shell", ".out");
      Path err = Files.createTempFile("shell", ".err");
      try {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
          throw new AssertionError(command + " did not finish within " + timeout + "; killed it. stdout:\n"
              + Files.readString(out) + "\nstderr:\n" + Files.readString(err));
        }
        return new Result(List.copyOf(command), p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + command, e);
    }
  }

  /** A root shell command line, run by bash in {@code dir} with the services' PATH. */
  static Result bash(String script, Path dir, Duration timeout) {
    return run(List.of("bash", "-c", script), Map.of("PATH", PATH, "HOME", "/root", "LANG", "C.UTF-8"), dir, timeout);
  }

  /** {@link #bash} in / with a bound of a minute, for quick queries. */
  static Result bash(String script) {
    return bash(script, Path.of("/"), Duration.ofMinutes(1));
  }
}
