package io.qmpsidecar.resilience.surface;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A blocking QMP client for tests, on the test thread: QEMU's own monitor (the administrator's
 * view, to set up and to check effects) or the sidecar's proxy socket (a client's view). Lines are
 * read by a daemon thread into a bounded queue, so every wait has a timeout; events are skipped.
 */
public final class QmpLine implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNode CLOSED = JSON.getNodeFactory().textNode("closed");

  private final SocketChannel channel;
  private final BlockingQueue<JsonNode> lines = new ArrayBlockingQueue<>(4096);
  private final JsonNode greeting;

  private QmpLine(SocketChannel channel, Duration wait) {
    this.channel = channel;
    Thread reader = new Thread(this::read, "qmp-line-reader");
    reader.setDaemon(true);
    reader.start();
    this.greeting = next(wait);
  }

  /** Connects, reads the greeting and negotiates capabilities. */
  public static QmpLine connect(Path socket, Duration wait) {
    try {
      SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
      channel.connect(UnixDomainSocketAddress.of(socket));
      QmpLine line = new QmpLine(channel, wait);
      JsonNode negotiated = line.call("{\"execute\":\"qmp_capabilities\"}", wait);
      if (!negotiated.has("return")) {
        throw new IllegalStateException("qmp_capabilities on " + socket + " answered " + negotiated);
      }
      return line;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + socket, e);
    }
  }

  public JsonNode greeting() {
    return greeting;
  }

  /** Sends one command line and returns its reply ({@code return} or {@code error}). */
  public JsonNode call(String command, Duration wait) {
    send(command);
    return reply(wait);
  }

  /** Sends one line as it is. */
  public void send(String command) {
    try {
      ByteBuffer bytes = ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot send to QMP: " + e.getMessage(), e);
    }
  }

  /** The next reply; events are skipped. Throws when none comes within {@code wait} or on EOF. */
  public JsonNode reply(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      JsonNode line = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      if (!line.has("event")) {
        return line;
      }
    }
  }

  private JsonNode next(Duration wait) {
    try {
      JsonNode line = lines.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
      if (line == null) {
        throw new QmpTimeout("no answer from QMP within " + wait);
      }
      if (line == CLOSED) {
        lines.offer(CLOSED);
        throw new IllegalStateException("QMP connection closed");
      }
      return line;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private void read() {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (!lines.offer(JSON.readTree(line))) {
          break;
        }
      }
    } catch (IOException e) {
      // the channel was closed or reset: the waiting caller learns it from CLOSED below
    }
    lines.offer(CLOSED);
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** No reply within the wait. */
  public static final class QmpTimeout extends IllegalStateException {
    QmpTimeout(String message) {
      super(message);
    }
  }
}
