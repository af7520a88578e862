package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One exchange with qmp-sidecar's privileged host-prep helper: a connection per request (the
 * socket unit starts one helper per connection), one request line, one answer line. Blocking,
 * with one deadline for the whole exchange: call it on a worker thread.
 */
final class HelperConnection {
  /**
   * Connections this process keeps open to the helper at once: its socket unit's
   * {@code MaxConnections=} (contrib/systemd/qmp-sidecar-hostprep.socket). systemd closes any
   * connection beyond it unanswered, which would fail an attach in a burst; further requests wait
   * for a free connection instead, within their own timeout.
   */
  static final int MAX_CONNECTIONS = 16;
  private static final int MAX_ANSWER = 4096;
  private static final Semaphore CONNECTIONS = new Semaphore(MAX_CONNECTIONS, true);

  private HelperConnection() {}

  /**
   * Sends {@code request} (one line) on a new connection and returns the answer's line, stripped.
   *
   * @param timeout for waiting for a free connection, connecting, sending and reading the answer together
   */
  static String exchange(Path socket, String request, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      if (!CONNECTIONS.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
        throw new IOException(MAX_CONNECTIONS + " requests to the host-prep helper at " + socket
            + " stayed in flight for " + timeout.toMillis() + " ms, the most its socket unit serves at once;"
            + " retry, and if it recurs see journalctl -t qmp-sidecar-hostprep for helpers that do not finish");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for a connection to the host-prep helper");
    }
    try {
      return exchange(socket, request, timeout, deadline);
    } finally {
      CONNECTIONS.release();
    }
  }

  private static String exchange(Path socket, String request, Duration timeout, long deadline) throws IOException {
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector selector = Selector.open()) {
      channel.configureBlocking(false);
      try {
        if (!channel.connect(UnixDomainSocketAddress.of(socket))) {
          await(channel, selector, SelectionKey.OP_CONNECT, deadline, socket, timeout, "connecting");
          channel.finishConnect();
        }
      } catch (IOException e) {
        throw new IOException("cannot reach the host-prep helper at " + socket + " (" + e.getMessage()
            + "); start it: systemctl enable --now qmp-sidecar-hostprep.socket", e);
      }
      ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
      while (out.hasRemaining()) {
        if (channel.write(out) == 0) {
          await(channel, selector, SelectionKey.OP_WRITE, deadline, socket, timeout, "sending the request");
        }
      }
      ByteBuffer in = ByteBuffer.allocate(MAX_ANSWER);
      while (true) {
        int read = channel.read(in);
        if (read < 0 || !in.hasRemaining() || endsLine(in)) {
          break;
        }
        if (read == 0) {
          await(channel, selector, SelectionKey.OP_READ, deadline, socket, timeout, "waiting for its answer");
        }
      }
      String answer = new String(in.array(), 0, in.position(), StandardCharsets.UTF_8).strip();
      return answer.isEmpty() ? "nothing (it closed the connection; see journalctl -t qmp-sidecar-hostprep)" : answer;
    }
  }

  private static boolean endsLine(ByteBuffer in) {
    return in.position() > 0 && in.get(in.position() - 1) == '\n';
  }

  private static void await(SocketChannel channel, Selector selector, int op, long deadline, Path socket,
      Duration timeout, String what) throws IOException {
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
