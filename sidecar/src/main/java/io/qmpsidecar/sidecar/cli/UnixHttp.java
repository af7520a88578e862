package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.ByteArrayOutputStream;
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
import java.util.Arrays;
import java.util.Locale;

/**
 * One HTTP/1.1 GET on the sidecar API's Unix socket with plain {@code java.nio}: the lean path's
 * whole network stack (no Vert.x, no Netty). Like {@link ApiClient}, each wait for the socket
 * lasts at most the timeout and the whole call at most the timeout and a second.
 */
final class UnixHttp {
  /** The most an answer may hold: far more than a list of VMs, of devices or a migration's status. */
  static final int MAX_ANSWER = 16 * 1024 * 1024;
  private static final byte[] HEADERS_END = {'\r', '\n', '\r', '\n'};

  private UnixHttp() {}

  /**
   * The Unix socket an {@code --api} value names: {@code unix:PATH}, or an absolute path as is
   * (what a hook's {@code QMP_SIDECAR_API} holds); null for anything else.
   */
  static String unixPath(String api) {
    if (api.startsWith("unix:") && api.length() > 5) {
      return api.substring(5);
    }
    return api.startsWith("/") ? api : null;
  }

  /**
   * GETs {@code uri} from the API at {@code socket}.
   *
   * @param api the --api the socket came from, for messages
   * @return the answer when it is not a problem (any status)
   * @throws SidecarException for a problem answer, or no answer within the timeout
   * @throws IOException when the socket cannot be reached, the connection breaks, or the answer is
   *     not HTTP/1.1 this client reads (nothing was printed: the full command line can make the call)
   */
  static ApiClient.Response get(String api, Path socket, String uri, Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos() + Duration.ofSeconds(1).toNanos();
    try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
      channel.configureBlocking(false);
      SelectionKey key = channel.register(selector, 0);
      if (!channel.connect(UnixDomainSocketAddress.of(socket))) {
        await(key, SelectionKey.OP_CONNECT, api, timeout, deadline);
        channel.finishConnect();
      }
      ByteBuffer request = ByteBuffer.wrap(("GET " + uri + " HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
          .getBytes(StandardCharsets.UTF_8));
      while (request.hasRemaining()) {
        if (channel.write(request) == 0) {
          await(key, SelectionKey.OP_WRITE, api, timeout, deadline);
        }
      }
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
      // connection: close: the answer ends where the daemon closes the socket.
      for (int n; (n = channel.read(buffer.clear())) >= 0; ) {
        if (n == 0) {
          await(key, SelectionKey.OP_READ, api, timeout, deadline);
        } else if (answer.size() + n > MAX_ANSWER) {
          throw new IOException("an answer larger than " + MAX_ANSWER + " bytes");
        } else {
          answer.write(buffer.array(), 0, n);
        }
      }
      return parse(api, answer.toByteArray());
    }
  }

  /** Waits until the channel is ready for {@code op}, for the timeout, and never past the deadline. */
  private static void await(SelectionKey key, int op, String api, Duration timeout, long deadline) throws IOException {
    key.interestOps(op);
    long wait = Math.min(timeout.toMillis(), (deadline - System.nanoTime()) / 1_000_000);
    if (wait <= 0 || key.selector().select(wait) == 0) {
      throw ApiAnswers.timedOut(api, timeout);
    }
    key.selector().selectedKeys().clear();
  }

  private static ApiClient.Response parse(String api, byte[] answer) throws IOException {
    int end = indexOf(answer, HEADERS_END, 0);
    if (end < 0) {
      throw new IOException("no HTTP headers");
    }
    String[] head = new String(answer, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] statusLine = head[0].split(" ", 3);
    if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP/1 status line: " + head[0]);
    }
    String contentType = null;
    boolean chunked = false;
    for (int i = 1; i < head.length; i++) {
      int colon = head[i].indexOf(':');
      String name = colon < 0 ? "" : head[i].substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = colon < 0 ? "" : head[i].substring(colon + 1).strip();
      if (name.equals("content-type")) {
        contentType = value;
      } else if (name.equals("transfer-encoding")) {
        chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
      }
    }
    int status;
    try {
      status = Integer.parseInt(statusLine[1]);
    } catch (NumberFormatException e) {
      throw new IOException("not an HTTP status: " + head[0]);
    }
    int start = end + HEADERS_END.length;
    byte[] body = chunked ? dechunk(answer, start) : Arrays.copyOfRange(answer, start, answer.length);
    return ApiAnswers.answer(api, status, contentType, body);
  }

  /** The body of a chunked answer: each chunk is its size in hex, CRLF, the bytes, CRLF; size 0 ends. */
  private static byte[] dechunk(byte[] answer, int from) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    int at = from;
    while (true) {
      int eol = indexOf(answer, new byte[] {'\r', '\n'}, at);
      if (eol < 0) {
        throw new IOException("a chunked answer cut short");
      }
      String size = new String(answer, at, eol - at, StandardCharsets.ISO_8859_1).split(";", 2)[0].strip();
      int n;
      try {
        n = Integer.parseInt(size, 16);
      } catch (NumberFormatException e) {
        throw new IOException("a chunk size that is not hex: " + size);
      }
      if (n == 0) {
        return body.toByteArray();
      }
      if (n < 0 || eol + 2 + n > answer.length) {
        throw new IOException("a chunked answer cut short");
      }
      body.write(answer, eol + 2, n);
      at = eol + 2 + n + 2;
    }
  }

  private static int indexOf(byte[] data, byte[] target, int from) {
    for (int i = from; i + target.length <= data.length; i++) {
      if (Arrays.equals(data, i, i + target.length, target, 0, target.length)) {
        return i;
      }
    }
    return -1;
  }
}
