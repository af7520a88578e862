package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Asks qmp-sidecar's privileged host-prep helper whether a process still holds VFIO device nodes
 * (its request {@code release PID MILLIS NODE...}, nodes relative to the device root): the
 * helper reads {@code /proc/PID/fd} with {@code CAP_SYS_PTRACE}, which a sidecar run unprivileged
 * and with {@code ProtectProc=invisible}, as under the package's units, cannot. The helper looks
 * every 10 ms for as long as it was asked to wait, so one request covers many looks. Blocking:
 * call it on a worker thread.
 */
public final class HelperReleaseCheck {
  /**
   * The longest wait one request asks for. Each request holds one of the helper socket's
   * {@link HelperConnection#MAX_CONNECTIONS} connections, which host prep's writes share: slow
   * releases keep them a second at most.
   */
  public static final Duration MAX_WAIT = Duration.ofSeconds(1);

  private final Path socket;
  private final Path devRoot;
  private final Duration timeout;

  /**
   * @param socket the helper's socket ({@code /run/qmp-sidecar-hostprep.sock} under the units)
   * @param devRoot the root the nodes' paths start with ({@code /dev} on a host)
   * @param timeout for an exchange beyond the wait it asks for
   */
  public HelperReleaseCheck(Path socket, Path devRoot, Duration timeout) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.devRoot = Objects.requireNonNull(devRoot, "devRoot");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  /**
   * Those of {@code nodes} that process {@code pid} still holds, after waiting up to {@code upTo}
   * (at most {@link #MAX_WAIT}) for it to hold none; empty as soon as it holds none or is gone.
   *
   * @throws IOException when the helper cannot be reached or refuses (its answer says why), and
   *     for a node outside the device root, which the helper does not answer for
   */
  public List<Path> held(long pid, List<Path> nodes, Duration upTo) throws IOException {
    long waitMillis = Math.max(0, Math.min(upTo.toMillis(), MAX_WAIT.toMillis()));
    StringBuilder request = new StringBuilder("release ").append(pid).append(' ').append(waitMillis);
    for (Path node : nodes) {
      Path relative = devRoot.relativize(node);
      if (relative.startsWith("..") || relative.isAbsolute()) {
        throw new IOException(node + " is outside " + devRoot + ", which the helper does not answer for");
      }
      request.append(' ').append(relative);
    }
    String answer = HelperConnection.exchange(socket, request.append('\n').toString(), timeout.plusMillis(waitMillis));
    String[] words = answer.split(" ");
    if (words[0].equals("released") && words.length == 2) {
      return List.of();
    }
    if (words[0].equals("held") && words.length > 2) {
      List<String> named = List.of(words).subList(2, words.length);
      List<Path> held = nodes.stream().filter(n -> named.contains(devRoot.relativize(n).toString())).toList();
      if (held.size() == named.size()) {
        return held;
      }
    }
    throw new IOException("the host-prep helper (" + socket + ") answered: " + answer);
  }
}
