package io.qmpsidecar.bench;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Instant;

/**
 * One blocking Unix socket read as lines: what the benchmarks' own clients ({@link RawQmpClient},
 * {@link BenchHttpClient}, {@link EventLatencyBench}'s subscribers) share, as cheap as a client
 * can be next to the server it measures. With {@code stampReads} each read from the socket is
 * stamped with the wall clock, for latencies measured against QEMU's event timestamps.
 */
final class LineSocket implements AutoCloseable {
  private final Path socket;
  private final SocketChannel channel;
  private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);
  private final StringBuilder line = new StringBuilder();
  private final boolean stampReads;
  private Instant readAt;

  LineSocket(Path socket, boolean stampReads) throws IOException {
    this.socket = socket;
    this.stampReads = stampReads;
    channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    in.flip();
  }

  void write(byte[] bytes) throws IOException {
    write(bytes, bytes.length);
  }

  /** Writes the first {@code length} bytes of {@code bytes}. */
  void write(byte[] bytes, int length) throws IOException {
    ByteBuffer out = ByteBuffer.wrap(bytes, 0, length);
    while (out.hasRemaining()) {
      channel.write(out);
    }
  }

  /** Reads past the next line end, keeping nothing. */
  void skipLine() throws IOException {
    while (true) {
      while (in.hasRemaining()) {
        if (in.get() == '\n') {
          return;
        }
      }
      fill();
    }
  }

  /** The next line without its line end; the builder is reused by the next call. */
  StringBuilder readLine() throws IOException {
    line.setLength(0);
    while (true) {
      while (in.hasRemaining()) {
        byte b = in.get();
        if (b == '\n') {
          if (line.length() > 0 && line.charAt(line.length() - 1) == '\r') {
            line.setLength(line.length() - 1);
          }
          return line;
        }
        line.append((char) b);
      }
      fill();
    }
  }

  /** Reads {@code length} bytes, appended to {@code keep} unless it is null. */
  void readBytes(long length, StringBuilder keep) throws IOException {
    while (length > 0) {
      if (!in.hasRemaining()) {
        fill();
      }
      int n = (int) Math.min(length, in.remaining());
      if (keep != null) {
        for (int i = 0; i < n; i++) {
          keep.append((char) in.get(in.position() + i));
        }
      }
      in.position(in.position() + n);
      length -= n;
    }
  }

  /** When the read that completed the last line returned (with {@code stampReads}). */
  Instant readAt() {
    return readAt;
  }

  private void fill() throws IOException {
    in.clear();
    if (channel.read(in) < 0) {
      throw new EOFException(socket + " was closed by its peer");
    }
    if (stampReads) {
      readAt = Instant.now();
    }
    in.flip();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
