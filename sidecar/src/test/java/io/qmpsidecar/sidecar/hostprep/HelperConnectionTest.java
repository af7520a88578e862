package io.qmpsidecar.sidecar.hostprep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sidecar never opens more connections to the helper than its socket unit serves at once.
 * The server here stands in for systemd's socket: it counts the connections open at once, which
 * the real helper (HostPrepHelperTest) cannot tell, and answers each when the test lets it.
 */
class HelperConnectionTest {

  @TempDir Path dir;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger mostOpen = new AtomicInteger();
  private ServerSocketChannel server;

  @AfterEach
  void stop() throws IOException {
    threads.shutdownNow();
    if (server != null) {
      server.close();
    }
  }

  /** Serves on {@code socket}: each connection's line is answered "ok" once {@code answer} is open. */
  private Path serve(CountDownLatch answer) throws IOException {
    Path socket = dir.resolve("hostprep.sock");
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    threads.submit(() -> {
      while (server.isOpen()) {
        SocketChannel c = server.accept();
        mostOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
        threads.submit(() -> answer(c, answer));
      }
      return null;
    });
    return socket;
  }

  private Void answer(SocketChannel c, CountDownLatch answer) throws Exception {
    try (c) {
      c.read(ByteBuffer.allocate(256));
      assertThat(answer.await(20, TimeUnit.SECONDS)).isTrue();
      c.write(ByteBuffer.wrap("ok\n".getBytes(StandardCharsets.US_ASCII)));
    } finally {
      open.decrementAndGet();
    }
    return null;
  }

  @Test
  void aBurstOfRequestsWaitsForFreeConnectionsAndEveryOneIsAnswered() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    Path socket = serve(answer);
    List<Future<String>> answers = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      answers.add(threads.submit(() -> HelperConnection.exchange(socket, "unbind 0000:03:00.1\n", Duration.ofSeconds(20))));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (open.get() < HelperConnection.MAX_CONNECTIONS && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    Thread.sleep(200);
    int openBeforeAnswers = open.get();
    answer.countDown();

    for (Future<String> a : answers) {
      assertThat(a.get(20, TimeUnit.SECONDS)).isEqualTo("ok");
    }
    assertThat(openBeforeAnswers).as("connections open while none was answered").isEqualTo(HelperConnection.MAX_CONNECTIONS);
    assertThat(mostOpen.get()).isEqualTo(HelperConnection.MAX_CONNECTIONS);
  }

  @Test
  void aRequestThatFindsNoFreeConnectionInItsTimeoutFailsSayingWhy() throws Exception {
    CountDownLatch answer = new CountDownLatch(1);
    Path socket = serve(answer);
    List<Future<String>> holding = new ArrayList<>();
    for (int i = 0; i < HelperConnection.MAX_CONNECTIONS; i++) {
      holding.add(threads.submit(() -> HelperConnection.exchange(socket, "unbind 0000:03:00.1\n", Duration.ofSeconds(20))));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (open.get() < HelperConnection.MAX_CONNECTIONS && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }

    assertThatThrownBy(() -> HelperConnection.exchange(socket, "unbind 0000:03:00.2\n", Duration.ofMillis(300)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("16 requests to the host-prep helper at " + socket)
        .hasMessageContaining("stayed in flight for 300 ms");
    answer.countDown();
    for (Future<String> h : holding) {
      assertThat(h.get(20, TimeUnit.SECONDS)).isEqualTo("ok");
    }
  }

  @Test
  void theBoundIsTheSocketUnitsMaxConnections() throws IOException {
    List<String> unit = Files.readAllLines(Path.of("../contrib/systemd/qmp-sidecar-hostprep.socket"));

    assertThat(unit).contains("MaxConnections=" + HelperConnection.MAX_CONNECTIONS);
  }
}
