package io.qmpsidecar.sidecar.hostprep;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The package's host-prep helper (contrib/hostprep/hostprep) served on a Unix socket by socat, one
 * helper per connection, as its socket unit serves it (Accept=yes): socat execs the helper with
 * the connection as its standard input and output ({@code nofork}), as systemd does. Relayed
 * through a pipe instead, a refusal's answer was lost about once in a hundred runs when socat saw
 * the helper exit with 1 before it had copied the answer.
 */
public final class HelperServer implements AutoCloseable {
  public static final Path HELPER = Path.of("../contrib/hostprep/hostprep").toAbsolutePath().normalize();

  private final Process socat;

  /**
   * @param env the helper's environment as its unit sets it (QMP_SIDECAR_SYSFS, QMP_SIDECAR_DEV,
   *     QMP_SIDECAR_HOSTPREP_ALLOW)
   * @param launcher words before the helper's path, e.g. {@code setpriv} with its options; none
   *     runs the helper as this process's user with its capabilities
   */
  public HelperServer(Path socket, Map<String, String> env, List<String> launcher) throws IOException,
      InterruptedException {
    List<String> exec = new ArrayList<>(launcher);
    exec.add(HELPER.toString());
    ProcessBuilder builder = new ProcessBuilder("socat", "-d", "-d", "UNIX-LISTEN:" + socket + ",fork",
        "EXEC:" + String.join(" ", exec) + ",nofork");
    builder.environment().putAll(env);
    Path log = socket.resolveSibling(socket.getFileName() + ".log");
    socat = builder.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!Files.readString(log).contains("listening on")) {
      assertThat(System.nanoTime()).as("socat listens on %s", socket).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  @Override
  public void close() throws InterruptedException {
    socat.destroy();
    socat.waitFor(5, TimeUnit.SECONDS);
  }
}
