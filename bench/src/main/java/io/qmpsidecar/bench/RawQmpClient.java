package io.qmpsidecar.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The floor: the least a client can do over QMP. A blocking Unix socket, hand-written command
 * bytes, replies counted by line without parsing. It negotiates {@code oob} like qmp-client does.
 */
final class RawQmpClient implements AutoCloseable {
  private static final byte[] QUERY_STATUS = "{\"execute\":\"query-status\",\"id\":1}\n".getBytes(StandardCharsets.US_ASCII);
  private final SocketChannel channel;
  private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);

  RawQmpClient(Path socket) throws IOException {
    channel = SocketChannel.open(StandardProtocolFamily.UNIX);
    channel.connect(UnixDomainSocketAddress.of(socket));
    in.flip();
    readLine();
    write("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n".getBytes(StandardCharsets.US_ASCII));
    readLine();
  }

  /** One query-status round trip, in nanoseconds. */
  long roundTrip() throws IOException {
    long start = System.nanoTime();
    write(QUERY_STATUS);
    readLine();
    return System.nanoTime() - start;
  }

  /** {@code count} query-status with at most {@code window} outstanding; returns commands/s. */
  double pipelined(int count, int window) throws IOException {
    long start = System.nanoTime();
    int sent = 0;
    int received = 0;
    while (received < count) {
      while (sent < count && sent - received < window) {
        write(QUERY_STATUS);
        sent++;
      }
      readLine();
      received++;
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  private void write(byte[] bytes) throws IOException {
    ByteBuffer out = ByteBuffer.wrap(bytes);
    while (out.hasRemaining()) {
      channel.write(out);
    }
  }

  private void readLine() throws IOException {
    while (true) {
      while (in.hasRemaining()) {
        if (in.get() == '\n') {
          return;
        }
      }
      in.clear();
      if (channel.read(in) < 0) {
        throw new IOException("QEMU closed the socket");
      }
      in.flip();
    }
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
