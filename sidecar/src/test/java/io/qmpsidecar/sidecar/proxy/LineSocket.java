package io.qmpsidecar.sidecar.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A raw QMP client that sends exactly the bytes it is given and hands back exactly the lines it
 * receives (each with its CRLF), as QEMU or the proxy wrote them. A thread reads the socket.
 */
final class LineSocket implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String EOF = "\u0000EOF";
  private static final long WAIT_SECONDS = 20;

  private final SocketChannel channel;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>(100_000);

  LineSocket(Path path) {
    try {
      channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(path));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + path, e);
    }
    Thread reader = new Thread(this::pump, "line-socket-" + path.getFileName());
    reader.setDaemon(true);
    reader.start();
  }

  private void pump() {
    ByteBuffer buf = ByteBuffer.allocate(65536);
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    try {
      while (channel.read(buf.clear()) > 0) {
        for (int i = 0; i < buf.position(); i++) {
          byte b = buf.get(i);
          line.write(b);
          if (b == '\n') {
            lines.put(line.toString(StandardCharsets.ISO_8859_1));
            line.reset();
          }
        }
      }
    } catch (IOException e) {
      // Closed by the test or the peer: the end of input.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (line.size() > 0) {
      lines.offer(line.toString(StandardCharsets.ISO_8859_1));
    }
    lines.offer(EOF);
  }

  LineSocket send(String text) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  LineSocket send(byte[] bytes) {
    try {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        channel.write(b);
      }
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send to the QMP socket", e);
    }
  }

  /** Shuts down the sending side: the peer reads the end of input, the socket stays readable. */
  LineSocket shutdownOutput() {
    try {
      channel.shutdownOutput();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next line, with its line end; fails after 20 s or at the end of input. */
  String line() {
    String l = poll(WAIT_SECONDS);
    if (l == null || l.equals(EOF)) {
      throw new AssertionError(l == null ? "no line within " + WAIT_SECONDS + " s" : "the peer closed the socket");
    }
    return l;
  }

  JsonNode json() {
    try {
      return JSON.readTree(line());
    } catch (IOException e) {
      throw new AssertionError("not JSON", e);
    }
  }

  /** Every line until the peer closes the socket; fails if it stays open for {@code seconds}. */
  List<String> untilClosed(long seconds) {
    List<String> all = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      String l = poll(Math.max(1, TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime())));
      if (l == null) {
        throw new AssertionError("the peer did not close the socket within " + seconds + " s; read " + all);
      }
      if (l.equals(EOF)) {
        return all;
      }
      all.add(l);
    }
  }

  /** Lines already received and not read. */
  List<String> drain() {
    List<String> all = new ArrayList<>();
    lines.drainTo(all);
    all.remove(EOF);
    return all;
  }

  private String poll(long seconds) {
    try {
      return lines.poll(seconds, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
