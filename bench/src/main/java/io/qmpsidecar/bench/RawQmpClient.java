package io.qmpsidecar.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The floor: the least a client can do over QMP. A blocking Unix socket, hand-written command
 * bytes, replies counted by line without parsing. It negotiates {@code oob} like qmp-client does.
 */
final class RawQmpClient implements AutoCloseable {
  private static final byte[] QUERY_STATUS = "{\"execute\":\"query-status\",\"id\":1}\n".getBytes(StandardCharsets.US_ASCII);
  private final LineSocket socket;

  RawQmpClient(Path path) throws IOException {
    socket = new LineSocket(path, false);
    socket.skipLine();
    socket.write("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n".getBytes(StandardCharsets.US_ASCII));
    socket.skipLine();
  }

  /** One query-status round trip, in nanoseconds. */
  long roundTrip() throws IOException {
    long start = System.nanoTime();
    socket.write(QUERY_STATUS);
    socket.skipLine();
    return System.nanoTime() - start;
  }

  /** {@code count} query-status with at most {@code window} outstanding; returns commands/s. */
  double pipelined(int count, int window) throws IOException {
    long start = System.nanoTime();
    int sent = 0;
    int received = 0;
    while (received < count) {
      while (sent < count && sent - received < window) {
        socket.write(QUERY_STATUS);
        sent++;
      }
      socket.skipLine();
      received++;
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
