package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Writes sysfs attributes through qmp-sidecar's privileged host-prep helper
 * ({@code /usr/libexec/qmp-sidecar/hostprep}, socket-activated on {@code host.prepHelper}), so the
 * sidecar itself needs no privilege. One connection per write: the request is the attribute's
 * path relative to the sysfs root and the value on one line; the answer is {@code ok} or
 * {@code error: ...}. Blocking, with one deadline for the whole exchange: call it on a worker
 * thread, as {@link SysfsHostPrep} does.
 */
public final class HelperSysfsWriter implements SysfsWriter {
  private static final int MAX_ANSWER = 4096;

  private final Path socket;
  private final Path sysfsRoot;
  private final Duration timeout;

  /**
   * @param socket the helper's socket ({@code /run/qmp-sidecar-hostprep.sock} under the units)
   * @param sysfsRoot the root the attributes' paths start with
   * @param timeout for connecting, sending and reading the answer together
   */
  public HelperSysfsWriter(Path socket, Path sysfsRoot, Duration timeout) {
    this.socket = Objects.requireNonNull(socket, "socket");
    this.sysfsRoot = Objects.requireNonNull(sysfsRoot, "sysfsRoot");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
  }

  @Override
  public void write(Path file, String value) throws IOException {
    Path attribute = sysfsRoot.relativize(file);
    if (attribute.startsWith("..") || attribute.isAbsolute()) {
      throw new IOException(file + " is outside " + sysfsRoot + ", which the helper does not write");
    }
    String answer = exchange(attribute + " " + value.strip() + "\n");
    if (!answer.equals("ok")) {
      throw new IOException("the host-prep helper (" + socket + ") answered: " + answer);
    }
  }

  @Override
  public String fix() {
    return "follow the helper's answer (its allow file is /etc/qmp-sidecar/hostprep.allow), check"
        + " that it runs (systemctl status qmp-sidecar-hostprep.socket; journalctl -t qmp-sidecar-hostprep) and dmesg";
  }

  private String exchange(String request) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = Selector.open()) {
      channel.configureBlocking(false);
      try {
        if (!channel.connect(UnixDomainSocketAddress.of(socket))) {
          await(channel, selector, SelectionKey.OP_CONNECT, deadline, "connecting");
          channel.finishConnect();
        }
      } catch (IOException e) {
        throw new IOException("cannot reach the host-prep helper at " + socket + " (" + e.getMessage()
            + "); start it: systemctl enable --now qmp-sidecar-hostprep.socket", e);
      }
      ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        if (channel.write(out) == 0) {
          await(channel, selector, SelectionKey.OP_WRITE, deadline, "sending the request");
        }
      }
      ByteBuffer in = ByteBuffer.allocate(MAX_ANSWER);
      while (true) {
        int read = channel.read(in);
        if (read < 0 || !in.hasRemaining() || endsLine(in)) {
          break;
        }
        if (read == 0) {
          await(channel, selector, SelectionKey.OP_READ, deadline, "waiting for its answer");
        }
      }
      String answer = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
      return answer.isEmpty() ? "nothing (it closed the connection; see journalctl -t qmp-sidecar-hostprep)" : answer;
    }
  }

  private static boolean endsLine(ByteBuffer in) {
    return in.position() > 0 && in.get(in.position() - 1) == '\n';
  }

  private void await(SocketChannel channel, Selector selector, int op, long deadline, String what)
      throws IOException {
    SelectionKey key = channel.register(selector, op);
    long left = deadline - System.nanoTime();
    if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0) {
      throw new IOException("the host-prep helper at " + socket + " did not answer within "
          + timeout.toMillis() + " ms (" + what + ")");
    }
    selector.selectedKeys().clear();
    key.interestOps(0);
  }
}
