package io.qmpsidecar.sidecar.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds and runs {@code proxy/goqmp/main.go}, a client on go-qemu's qmp package. Needs Debian's
 * {@code golang-go} and {@code golang-github-digitalocean-go-qemu-dev} (GOPATH
 * {@code /usr/share/gocode}); the build cache lives under {@code target/}.
 */
final class GoQmpClient {
  private static final Path GOPATH = Path.of("/usr/share/gocode");
  private static final Path GO_QEMU = GOPATH.resolve("src/github.com/digitalocean/go-qemu/qmp");
  private static final long BUILD_SECONDS = 300;
  private static final long RUN_SECONDS = 60;

  private GoQmpClient() {}

  /** Builds the client into {@code dir} and returns the binary. */
  static Path build(Path dir) throws IOException, InterruptedException {
    if (!Files.isDirectory(GO_QEMU)) {
      throw new AssertionError("go-qemu is not installed at " + GO_QEMU + ": apt-get install"
          + " golang-go golang-github-digitalocean-go-qemu-dev (scripts/setup installs them)");
    }
    Path source = dir.resolve("main.go");
    try (InputStream in = GoQmpClient.class.getResourceAsStream("/proxy/goqmp/main.go")) {
      if (in == null) {
        throw new AssertionError("proxy/goqmp/main.go is missing from the test resources");
      }
      Files.copy(in, source);
    }
    Path binary = dir.resolve("goqmp");
    String output = run(List.of("go", "build", "-o", binary.toString(), source.toString()),
        dir, BUILD_SECONDS, true);
    if (!Files.isExecutable(binary)) {
      throw new AssertionError("go build produced no binary: " + output);
    }
    return binary;
  }

  /** Runs the client against {@code socket}; returns what it printed. */
  static String runAgainst(Path binary, Path socket) throws IOException, InterruptedException {
    return run(List.of(binary.toString(), socket.toString()), binary.getParent(), RUN_SECONDS,
        false);
  }

  /** Runs the session without the command the proxy denies, to compare with a direct monitor. */
  static String runSameAgainst(Path binary, Path socket) throws IOException, InterruptedException {
    return run(List.of(binary.toString(), socket.toString(), "same"), binary.getParent(),
        RUN_SECONDS, false);
  }

  private static String run(List<String> command, Path dir, long seconds, boolean build)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true);
    if (build) {
      pb.environment().put("GO111MODULE", "off");
      pb.environment().put("GOPATH", GOPATH.toString());
      pb.environment().put("GOCACHE", Path.of("target", "go-cache").toAbsolutePath().toString());
    }
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command.get(0) + " (" + e.getMessage()
          + "): apt-get install golang-go golang-github-digitalocean-go-qemu-dev", e);
    }
    p.getOutputStream().close();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish in " + seconds + " s");
    }
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new AssertionError(String.join(" ", command) + " exited with " + p.exitValue()
          + ": " + output);
    }
    return output;
  }
}
