package io.qmpsidecar.sidecar.liveupdate;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.hostprep.QemuProcessLookup;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * The sidecar's own machine: QEMU's processes read through {@code /proc}, the new QEMU started as
 * the sidecar's child (or its launcher's), its sockets dialled directly.
 */
public final class LocalQemuHost implements QemuHost {
  private static final Duration KILL_WAIT = Duration.ofSeconds(10);

  private final QemuProcessLookup processes = new QemuProcessLookup(Path.of("/proc"));

  @Override
  public Optional<Path> monitorPath(QmpAddress address) {
    return Optional.ofNullable(address.unixPath());
  }

  @Override
  public QmpAddress dial(Path socket) {
    return QmpAddress.unix(socket);
  }

  @Override
  public OptionalLong listener(Path socket) throws IOException {
    return processes.listener(socket);
  }

  @Override
  public boolean listening(Path socket) throws IOException {
    return processes.listening(socket);
  }

  @Override
  public List<String> commandLine(long pid) throws IOException {
    return processes.commandLine(pid);
  }

  @Override
  public Map<String, String> environment(long pid) throws IOException {
    return processes.environment(pid);
  }

  @Override
  public boolean alive(long pid) {
    return processes.alive(pid);
  }

  @Override
  public void kill(long pid) {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Override
  public String version(List<String> binary, Map<String, String> env, Duration timeout) throws IOException,
      InterruptedException {
    if (!Files.isExecutable(Path.of(binary.get(binary.size() - 1)))) {
      throw new IOException(binary.get(binary.size() - 1) + " does not exist or is not executable");
    }
    List<String> command = new ArrayList<>(binary);
    command.add("--version");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().clear();
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", binary) + " --version did not answer within " + timeout.toSeconds() + " s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", binary) + " --version exited with status " + p.exitValue() + ": "
          + out.strip());
    }
    return out;
  }

  @Override
  public Launched launch(List<String> command, Map<String, String> env, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().clear();
    pb.environment().putAll(env);
    Process process = pb.start();
    return new Launched() {
      @Override
      public long pid() {
        return process.pid();
      }

      @Override
      public boolean alive() {
        return process.isAlive();
      }

      @Override
      public String exit() {
        return "status " + process.exitValue();
      }

      @Override
      public void kill() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      }
    };
  }

  @Override
  public void prepare(Path dir, List<Path> stale) throws IOException {
    Files.createDirectories(dir);
    for (Path file : stale) {
      Files.deleteIfExists(file);
    }
  }

  @Override
  public void delete(Path file) throws IOException {
    Files.deleteIfExists(file);
  }

  @Override
  public void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  @Override
  public String tail(Path file, int max) throws IOException {
    try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
      long from = Math.max(0, in.length() - max);
      byte[] end = new byte[(int) (in.length() - from)];
      in.seek(from);
      in.readFully(end);
      // A cut inside a character would decode as U+FFFD: start at the next character instead.
      int start = 0;
      while (from > 0 && start < end.length && (end[start] & 0xC0) == 0x80) {
        start++;
      }
      return new String(end, start, end.length - start, StandardCharsets.UTF_8).strip();
    }
  }
}
