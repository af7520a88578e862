package io.qmpsidecar.sidecar.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/** Events for clients that do not read: bounded, and every drop reported when it happens. */
class ProxyEventsIT {

  @RegisterExtension final ProxyFixture fx = new ProxyFixture();
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();
  private final Logger sessionLog = (Logger) LoggerFactory.getLogger(ProxyClientSession.class);

  @BeforeEach
  void listen() {
    log.start();
    sessionLog.addAppender(log);
  }

  @AfterEach
  void stopListening() {
    sessionLog.detachAppender(log);
  }

  @QemuTest
  void aClientThatStopsReadingLosesEventsCountedWhenDroppedAndHoldsUpNobody(QemuBinary binary) throws Exception {
    int capacity = 16;
    fx.start(binary, fx.options().withEventQueueCapacity(capacity)
        .withConsumers(List.of(new ProxyConsumer("slow", null))), ProxyFixture.ALLOW_ALL);
    Map<String, AtomicLong> metric = new ConcurrentHashMap<>();
    fx.proxy.onEventDropped(caller -> metric.computeIfAbsent(caller.id(), k -> new AtomicLong()).incrementAndGet());
    // A raw client that negotiates and then never reads: its socket buffers fill up.
    SocketChannel slow = fx.closeLater(SocketChannel.open(UnixDomainSocketAddress.of(fx.dir().resolve("proxy.slow.qmp"))));
    slow.write(ByteBuffer.wrap("{\"execute\":\"qmp_capabilities\"}\n".getBytes(StandardCharsets.US_ASCII)));
    Await.until("the slow client negotiated",
        () -> fx.proxy.clients().stream().anyMatch(ProxyClientStats::negotiated));
    List<ProxyTestClient> watchers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ProxyTestClient w = fx.vertxClient(fx.proxy.socketPath());
      w.negotiate("");
      watchers.add(w);
    }
    ProxyTestClient actor = fx.vertxClient(fx.proxy.socketPath());
    actor.negotiate("");
    // Enough STOP/RESUME lines to fill the slow client's socket and its event queue many times.
    int pairs = 3000;
    for (int i = 0; i < pairs; i++) {
      actor.send("{\"execute\":\"stop\",\"id\":" + (2 * i) + "}");
      actor.send("{\"execute\":\"cont\",\"id\":" + (2 * i + 1) + "}");
    }
    for (int i = 0; i < 2 * pairs; i++) {
      assertThat(actor.reply().get("id").asInt()).isEqualTo(i);
    }
    for (ProxyTestClient w : watchers) {
      List<JsonNode> seen = new ArrayList<>();
      Await.until("a watcher sees every event", () -> {
        seen.addAll(w.drainEvents());
        return seen.size() >= 2 * pairs;
      });
      assertThat(seen).hasSize(2 * pairs);
      assertThat(seen.get(0).get("event").asText()).isEqualTo("STOP");
      assertThat(seen.get(2 * pairs - 1).get("event").asText()).isEqualTo("RESUME");
    }
    ProxyClientStats slowStats = fx.proxy.clients().stream()
        .filter(c -> c.caller().equals("proxy:slow")).findFirst().orElseThrow();
    assertThat(slowStats.eventsDropped()).isPositive();
    // Every event was written to its socket, dropped, or still waits in its full queue.
    assertThat(slowStats.eventsDelivered() + slowStats.eventsDropped()).isEqualTo(2L * pairs - capacity);
    assertThat(fx.proxy.clients()).filteredOn(c -> !c.caller().equals("proxy:slow"))
        .allSatisfy(c -> assertThat(c.eventsDropped()).isZero());
    // Reported as they happened, though no later event ever reached the slow client.
    assertThat(metric).containsOnlyKeys("proxy:slow");
    assertThat(metric.get("proxy:slow").get()).isEqualTo(slowStats.eventsDropped());
    assertThat(fx.proxy.eventsDropped()).isEqualTo(slowStats.eventsDropped());
    assertThat(log.list).filteredOn(e -> e.getLevel() == Level.WARN)
        .extracting(ILoggingEvent::getFormattedMessage)
        .anyMatch(m -> m.contains("proxy:slow") && m.contains("does not read its events"));
    assertThat(fx.proxy.callers()).filteredOn(c -> c.caller().equals("proxy:slow")).singleElement()
        .satisfies(c -> {
          assertThat(c.eventsDropped()).isEqualTo(slowStats.eventsDropped());
          assertThat(c.lastDrop()).isNotNull();
        });

    // The slow client still does not read and its socket is full: closing the proxy cuts it off
    // after a grace period instead of waiting for it forever, and removes the socket files.
    Await.result(fx.proxy.close());
    assertThat(fx.dir().resolve("proxy.slow.qmp")).doesNotExist();
    assertThat(fx.proxy.socketPath()).doesNotExist();
  }
}
