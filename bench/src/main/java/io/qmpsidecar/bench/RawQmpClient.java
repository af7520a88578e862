package io.qmpsidecar.bench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The floor: the least a client can do over QMP. A blocking Unix socket, hand-written command
 * bytes, replies counted by line without parsing. It negotiates {@code oob} like qmp-client does
 * and numbers its commands as qmp-client does, one id per command on the connection (from 1:
 * qmp-client's {@code qmp_capabilities} is its 0), so that QEMU reads the same bytes from both.
 * QEMU's monitor reads a command one byte per read from its socket, and on this machine every
 * further digit of an id costs QEMU some 10 us per command.
 * {@link #allAtOnce} is the true limit of a QMP monitor: every command written before the first
 * reply is read, so QEMU never waits for its client.
 */
final class RawQmpClient implements AutoCloseable {
  private static final byte[] QUERY_STATUS = "{\"execute\":\"query-status\",\"id\":".getBytes(StandardCharsets.US_ASCII);
  private final LineSocket socket;
  private final byte[] command = Arrays.copyOf(QUERY_STATUS, QUERY_STATUS.length + 22);
  private long nextId = 1;

  RawQmpClient(Path path) throws IOException {
    socket = new LineSocket(path, false);
    socket.skipLine();
    socket.write("{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}\n".getBytes(StandardCharsets.US_ASCII));
    socket.skipLine();
  }

  /** One query-status round trip, in nanoseconds. */
  long roundTrip() throws IOException {
    long start = System.nanoTime();
    socket.write(command, next());
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
        socket.write(command, next());
        sent++;
      }
      socket.skipLine();
      received++;
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  /**
   * {@code count} query-status, each with its own id as qmp-client numbers them, encoded into one
   * buffer beforehand and written in one go by a second thread while this one counts the replies;
   * returns commands/s. QEMU stops reading its socket while its queue is full: the rest wait in the
   * socket, which is why the write needs a thread of its own.
   */
  double allAtOnce(int count) throws Exception {
    byte[] commands = queryStatusWithIds(count);
    long start = System.nanoTime();
    CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
      try {
        socket.write(commands);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    for (int i = 0; i < count; i++) {
      socket.skipLine();
    }
    double perSecond = count / ((System.nanoTime() - start) / 1e9);
    written.get(10, TimeUnit.SECONDS);
    return perSecond;
  }

  private byte[] queryStatusWithIds(int count) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(count * 40);
    for (int i = 0; i < count; i++) {
      out.write(command, 0, next());
    }
    return out.toByteArray();
  }

  /** Puts the next query-status into {@link #command}; returns its length. */
  private int next() {
    long id = nextId++;
    int end = QUERY_STATUS.length + 1;
    for (long rest = id; rest >= 10; rest /= 10) {
      end++;
    }
    for (int at = end - 1; at >= QUERY_STATUS.length; at--) {
      command[at] = (byte) ('0' + id % 10);
      id /= 10;
    }
    command[end] = '}';
    command[end + 1] = '\n';
    return end + 2;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
