package io.qmpsidecar.qmp;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Protocol edge cases against a scripted fake QMP server: a real QEMU does not delay replies,
 * close mid-call, send events before its greeting, answer without an id or send garbage on
 * demand.
 */
class QmpClientProtocolTest {
  private static final String STOP_EVENT =
      "{\"timestamp\":{\"seconds\":1,\"microseconds\":2},\"event\":\"STOP\"}";
  private static Vertx vertx;

  @TempDir Path dir;
  private FakeQmpServer server;
  private QmpClient client;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  @BeforeEach
  void startServer() {
    server = new FakeQmpServer(vertx, dir);
  }

  @AfterEach
  void stop() {
    if (client != null) {
      result(client.close());
    }
    server.close();
  }

  private QmpClientOptions options() {
    return QmpClientOptions.of(server.address());
  }

  private QmpConnection connect(QmpClientOptions options) {
    client = QmpClient.create(vertx, options);
    return result(client.connect());
  }

  @Test
  void eventsBeforeTheGreetingAreDelivered() {
    server.sendBeforeGreeting(STOP_EVENT);
    List<QmpEvent> events = new CopyOnWriteArrayList<>();
    client = QmpClient.create(vertx, options());
    QmpConnection c = result(client.connect(conn -> conn.subscribe(EventFilter.all(), events::add)));
    Await.until("the early event arrives", () -> events.size() == 1);
    assertThat(events.get(0).name()).isEqualTo("STOP");
    assertThat(events.get(0).timestamp().getNano()).isEqualTo(2000);
    assertThat(c.state()).isEqualTo(QmpState.READY);
  }

  @Test
  void eventsInterleavedWithRepliesAreNeverTakenForReplies() {
    server.onCommand((req, peer) -> {
      peer.send(STOP_EVENT);
      peer.send(FakeQmpServer.reply(req, "\"return\":{\"status\":\"paused\",\"running\":false}"));
    });
    QmpConnection c = connect(options());
    List<String> events = new CopyOnWriteArrayList<>();
    c.subscribe(EventFilter.names("STOP"), e -> events.add(e.name()));
    assertThat(result(c.queryStatus())).isEqualTo(new VmStatus("paused", false));
    Await.until("the event arrives", () -> events.size() == 1);
  }

  @Test
  void aDelayedReplyTimesOutAndItsLateReplyIsDropped() {
    AtomicReference<Runnable> late = new AtomicReference<>();
    server.onCommand((req, peer) -> {
      if (req.path("execute").asText().equals("stop")) {
        late.set(() -> peer.ok(req));
      } else {
        peer.ok(req);
      }
    });
    QmpConnection c = connect(options());
    Throwable e = failure(c.execute(QmpCommands.stop(), Duration.ofMillis(50)));
    assertThat(e).isInstanceOfSatisfying(QmpTimeoutException.class, t -> {
      assertThat(t.command()).isEqualTo("stop");
      assertThat(t.timeout()).isEqualTo(Duration.ofMillis(50));
    });
    // QEMU still holds the command: its slot stays taken until the late reply comes.
    assertThat(c.inFlight()).isEqualTo(1);
    Await.until("stop reached QEMU", () -> late.get() != null);
    late.get().run();
    Await.until("the late reply frees the slot", () -> c.inFlight() == 0);
    assertThat(result(c.cont())).isNull();
  }

  @Test
  void closingMidCallFailsTheCommandAsClosed() {
    server.onCommand((req, peer) -> peer.close());
    QmpConnection c = connect(options());
    assertThat(failure(c.queryStatus())).isInstanceOf(QmpClosedException.class)
        .hasMessageContaining("lost").hasMessageContaining("re-query");
    Await.until("closed", () -> c.state() == QmpState.CLOSED);
  }

  @Test
  void anErrorWithoutIdAnswersTheOldestInFlightCommand() {
    List<FakeQmpServer.Peer> held = new ArrayList<>();
    server.onCommand((req, peer) -> {
      if (req.path("execute").asText().equals("stop")) {
        peer.send("{\"error\":{\"class\":\"GenericError\",\"desc\":\"JSON parse error, invalid keyword\"}}");
      } else {
        peer.ok(req);
      }
    });
    QmpConnection c = connect(options());
    assertThat(failure(c.stop())).isInstanceOfSatisfying(QmpCommandException.class, e -> {
      assertThat(e.command()).isEqualTo("stop");
      assertThat(e.errorClass()).isEqualTo("GenericError");
      assertThat(e.description()).isEqualTo("JSON parse error, invalid keyword");
    });
    assertThat(held).isEmpty();
    assertThat(result(c.cont())).isNull();
  }

  @Test
  void aReplyWithAnUnknownIdIsDropped() {
    server.onCommand((req, peer) -> {
      peer.send("{\"return\":{\"status\":\"bogus\",\"running\":false},\"id\":987654}");
      peer.send(FakeQmpServer.reply(req, "\"return\":{\"status\":\"running\",\"running\":true}"));
    });
    QmpConnection c = connect(options());
    assertThat(result(c.queryStatus()).status()).isEqualTo("running");
  }

  @Test
  void aServerThatNeverGreetsFailsConnectWithinTheGreetingTimeout() {
    server.greet(false);
    client = QmpClient.create(vertx, options().withGreetingTimeout(Duration.ofMillis(200)));
    assertThat(failure(client.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("sent no greeting within 200 ms: another client may hold the monitor");
  }

  /** A QEMU stopped right after greeting: no real QEMU can be stopped there on purpose. */
  @Test
  void aServerThatGreetsButNeverNegotiatesIsNotBlamedOnAnotherClient() {
    server.negotiate(false);
    client = QmpClient.create(vertx, options().withGreetingTimeout(Duration.ofSeconds(2)));
    assertThat(failure(client.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("greeted but did not answer qmp_capabilities within 2000 ms")
        .hasMessageNotContaining("another client");
  }

  @Test
  void atMostMaxInFlightCommandsAreOutAtOnce() {
    List<Runnable> answers = new CopyOnWriteArrayList<>();
    server.onCommand((req, peer) -> answers.add(() -> peer.ok(req)));
    QmpConnection c = connect(options());
    List<Future<Void>> futures = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      futures.add(c.stop());
    }
    // The calls above hand their commands to the connection's context; wait until it has taken all.
    Await.until("12 commands wait for a slot", () -> c.queued() == 12);
    assertThat(c.inFlight()).isEqualTo(8);
    Await.until("8 commands reach the server", () -> answers.size() == 8);
    answers.get(0).run();
    Await.until("a freed slot sends the 9th", () -> answers.size() == 9);
    for (int i = 1; i < 20; i++) {
      int next = i;
      Await.until("command " + next + " reaches the server", () -> answers.size() > next);
      answers.get(next).run();
    }
    futures.forEach(f -> assertThat(result(f)).isNull());
  }

  @Test
  void aFullQueueRefusesAtOnce() {
    server.onCommand((req, peer) -> { });
    QmpConnection c = connect(options().withMaxInFlight(1).withMaxQueuedCommands(2));
    c.stop();
    c.stop();
    c.stop();
    assertThat(failure(c.stop())).isInstanceOfSatisfying(QmpQueueFullException.class,
        e -> assertThat(e.capacity()).isEqualTo(2));
  }

  @Test
  void oobCommandsOvertakeAFullPipeline() {
    server.onCommand((req, peer) -> {
      if (req.has("exec-oob")) {
        peer.ok(req);
      }
    });
    QmpConnection c = connect(options());
    for (int i = 0; i < 10; i++) {
      c.stop();
    }
    assertThat(result(c.executeOob(QmpCommand.raw("migrate-pause", null)))).isNotNull();
    assertThat(server.received()).last().satisfies(r -> assertThat(r.path("exec-oob").asText()).isEqualTo("migrate-pause"));
  }

  @Test
  void anOversizedLineFailsInFlightCommandsAndResetsTheConnection() {
    String huge = "{\"return\":{\"pad\":\"" + "x".repeat(QmpClientOptions.MIN_MAX_LINE_BYTES + 10) + "\"}}";
    server.onCommand((req, peer) -> peer.send(huge));
    QmpConnection c = connect(options().withMaxLineBytes(QmpClientOptions.MIN_MAX_LINE_BYTES));
    assertThat(failure(c.queryStatus())).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("longer than " + QmpClientOptions.MIN_MAX_LINE_BYTES + " bytes");
    Await.until("the connection is reset", () -> c.state() == QmpState.CLOSED);
  }

  @Test
  void garbageFailsInFlightCommandsAndReconnects() {
    server.onCommand((req, peer) -> peer.send("this is not json"));
    QmpConnection c = connect(options().withReconnect(
        ReconnectPolicy.FOREVER.withInitialDelay(Duration.ofMillis(10)).withMaxDelay(Duration.ofMillis(50))));
    List<EventGap> gaps = new CopyOnWriteArrayList<>();
    c.subscribe(EventFilter.all(), new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent event) {}

      @Override
      public void onGap(EventGap gap) {
        gaps.add(gap);
      }
    });
    assertThat(failure(c.queryStatus())).isInstanceOf(QmpProtocolException.class)
        .hasMessageContaining("not JSON").hasMessageContaining("this is not json");
    Await.until("reconnected", () -> server.peers().size() == 2 && c.state() == QmpState.READY);
    Await.until("the subscriber learns of the gap", () -> gaps.equals(List.of(EventGap.RECONNECTED)));
  }

  @Test
  void aBadLineFailsSentCommandsAsProtocolErrorsAndQueuedOnesAsNeverSent() {
    AtomicReference<FakeQmpServer.Peer> answering = new AtomicReference<>();
    server.onCommand((req, peer) -> answering.set(peer));
    QmpConnection c = connect(options().withMaxInFlight(1));
    Future<VmStatus> sent = c.queryStatus();
    Future<VmStatus> queued = c.queryStatus();
    Await.until("the first command is sent and the second one waits behind it",
        () -> answering.get() != null && c.queued() == 1);
    answering.get().send("this is not json");

    assertThat(failure(sent)).isInstanceOf(QmpProtocolException.class).hasMessageContaining("not JSON");
    Throwable notSent = failure(queued);
    assertThat(notSent).isInstanceOf(QmpClosedException.class)
        .hasMessageContaining("lost before the command was sent").hasMessageContaining("not JSON")
        .hasMessageContaining("it did not run");
    assertThat(notSent.getCause()).isInstanceOf(QmpProtocolException.class);
  }

  /** A greeting that is not QMP, and none at all: a real QEMU always greets in QMP. */
  @Test
  void aFirstConnectThatFailsInTheGreetingSaysWhyWithoutBlamingQemuForClosing() {
    server.greet(false).sendBeforeGreeting("not json at all");
    client = QmpClient.create(vertx, options());
    Throwable garbage = failure(client.connect());
    assertThat(garbage).isInstanceOf(QmpConnectionException.class)
        .hasMessageStartingWith("greeting and negotiation with QEMU at " + server.address() + " failed:")
        .hasMessageContaining("not JSON").hasMessageNotContaining("closed the connection");
    assertThat(garbage.getCause()).isInstanceOf(QmpProtocolException.class);
    result(client.close());

    server.sendBeforeGreeting();
    client = QmpClient.create(vertx, options().withGreetingTimeout(Duration.ofMillis(200)));
    assertThat(failure(client.connect())).isInstanceOf(QmpConnectionException.class)
        .hasMessageStartingWith("QEMU at " + server.address() + " sent no greeting within 200 ms:");
  }

  @Test
  void aCommandWithItsOwnObserverSentThroughAViewIsReportedToBoth() {
    QmpConnection c = connect(options());
    List<String> own = new CopyOnWriteArrayList<>();
    List<String> view = new CopyOnWriteArrayList<>();
    QmpConnection observed = c.observedBy((name, id, nanos, failure) -> view.add(name + "#" + id));

    result(observed.execute(QmpCommands.queryStatus().observedBy((name, id, nanos, failure) -> own.add(name + "#" + id))));

    assertThat(own).containsExactly("query-status#1");
    assertThat(view).containsExactly("query-status#1");
  }

  /** A monitor that never greets (a QEMU stopped before it): no real QEMU can be stopped there on purpose. */
  @Test
  void closingTheClientDuringTheFirstConnectFailsTheConnectFuture() {
    server.greet(false);
    client = QmpClient.create(vertx, options().withGreetingTimeout(Duration.ofSeconds(60)));
    Future<QmpConnection> connecting = client.connect();
    Await.until("the client reached the monitor", () -> server.peers().size() == 1);

    result(client.close());

    assertThat(failure(connecting)).isInstanceOf(QmpClosedException.class).hasMessageContaining("closed by the client");
  }

  @Test
  void aTimeoutUnderAMillisecondStillExpires() {
    server.onCommand((req, peer) -> { });
    QmpConnection c = connect(options());
    for (Duration d : List.of(Duration.ZERO, Duration.ofNanos(500_000), Duration.ofMillis(-5))) {
      assertThat(failure(c.execute(QmpCommands.queryStatus(), d))).as("%s", d).isInstanceOf(QmpTimeoutException.class);
    }
  }

  /** Ten events in one read: delivered in one drain, where a pause must still hold from the next one. */
  @Test
  void aListenerThatPausesOrCancelsOnAnEventGetsNoMoreAfterIt() throws InterruptedException {
    QmpConnection c = connect(options());
    List<String> paused = new CopyOnWriteArrayList<>();
    List<String> cancelled = new CopyOnWriteArrayList<>();
    AtomicReference<QmpSubscription> pausing = new AtomicReference<>();
    AtomicReference<QmpSubscription> cancelling = new AtomicReference<>();
    pausing.set(c.subscribe(EventFilter.all(), e -> {
      paused.add(e.name());
      if (paused.size() == 1) {
        pausing.get().pause();
      }
    }));
    cancelling.set(c.subscribe(EventFilter.all(), e -> {
      cancelled.add(e.name());
      cancelling.get().cancel();
    }));
    settle(c);
    server.peers().get(0).send(String.join("\r\n", java.util.Collections.nCopies(10, STOP_EVENT)));

    Await.until("both heard the first event", () -> paused.size() == 1 && cancelled.size() == 1);
    Thread.sleep(300);
    assertThat(paused).hasSize(1);
    assertThat(cancelled).hasSize(1);
    pausing.get().resume();
    Await.until("the rest once resumed", () -> paused.size() == 10);
  }

  /**
   * A round trip on {@code c}'s context: what the test thread asked of it before (a subscription,
   * a pause), which hops onto that context, is done once this returns, before the server sends events.
   */
  private static void settle(QmpConnection c) {
    result(c.stop());
  }

  /** A listener that adds each event's name and each gap to {@code seen}, in order. */
  private static QmpEventListener recorder(List<Object> seen) {
    return new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent event) {
        seen.add(event.name());
      }

      @Override
      public void onGap(EventGap gap) {
        seen.add(gap);
      }
    };
  }

  @Test
  void eventsDroppedBeforeAReconnectAreReportedBeforeIt() {
    QmpConnection c = connect(options().withReconnect(
        ReconnectPolicy.FOREVER.withInitialDelay(Duration.ofMillis(10)).withMaxDelay(Duration.ofMillis(50))));
    List<Object> seen = new CopyOnWriteArrayList<>();
    QmpSubscription sub = c.subscribe(EventFilter.all(), 2, recorder(seen));
    sub.pause();
    settle(c);
    FakeQmpServer.Peer first = server.peers().get(0);
    for (int i = 0; i < 3; i++) {
      first.send(STOP_EVENT);
    }
    Await.until("one is dropped", () -> sub.dropped() == 1);
    first.close();
    Await.until("reconnected", () -> server.peers().size() == 2 && c.state() == QmpState.READY);

    sub.resume();

    Await.until("the queued events and both gaps", () -> seen.size() == 4);
    assertThat(seen).containsExactly("STOP", "STOP", EventGap.DROPPED, EventGap.RECONNECTED);
  }

  @Test
  void aPausedSubscriberDropsBeyondItsQueueAndIsToldSo() {
    QmpConnection c = connect(options());
    List<Object> seen = new CopyOnWriteArrayList<>();
    QmpSubscription sub = c.subscribe(EventFilter.names("STOP"), 2, recorder(seen));
    sub.pause();
    settle(c);
    FakeQmpServer.Peer peer = server.peers().get(0);
    for (int i = 0; i < 5; i++) {
      peer.send(STOP_EVENT);
    }
    peer.send("{\"event\":\"RESUME\"}");
    Await.until("three are dropped", () -> sub.dropped() == 3);
    assertThat(seen).isEmpty();
    sub.resume();
    Await.until("the queued events, then the gap, without waiting for another event", () -> seen.size() == 3);
    assertThat(seen).containsExactly("STOP", "STOP", EventGap.DROPPED);
    peer.send(STOP_EVENT);
    Await.until("delivery resumes", () -> seen.size() == 4);
    assertThat(seen).containsExactly("STOP", "STOP", EventGap.DROPPED, "STOP");
    assertThat(sub.delivered()).isEqualTo(3);
  }

  @Test
  void aListenerAddedBeforeTheConnectionOpensHearsEveryStateFromTheFirstConnecting() {
    client = QmpClient.create(vertx, options());
    List<QmpState> states = new CopyOnWriteArrayList<>();
    QmpConnection c = result(client.connect(conn -> conn.onStateChange(states::add)));
    result(c.close());

    assertThat(states).containsExactly(QmpState.CONNECTING, QmpState.NEGOTIATING, QmpState.READY, QmpState.CLOSED);
  }

  @Test
  void reconnectGivesUpAfterMaxAttempts() {
    QmpConnection c = connect(options().withReconnect(ReconnectPolicy.FOREVER
        .withInitialDelay(Duration.ofMillis(5)).withMaxDelay(Duration.ofMillis(10)).withMaxAttempts(3)));
    List<QmpState> states = new CopyOnWriteArrayList<>();
    c.onStateChange(states::add);
    server.close();
    server.peers().get(0).close();
    Await.until("closed for good", () -> c.state() == QmpState.CLOSED);
    assertThat(states.stream().filter(s -> s == QmpState.CONNECTING).count()).isEqualTo(3);
  }

  @Test
  void commandsWhileNotReadyFailFastNamingTheState() {
    QmpConnection c = connect(options());
    result(c.close());
    assertThat(failure(c.queryStatus())).isInstanceOf(QmpConnectionException.class)
        .hasMessageContaining("is closed").hasMessageContaining("query-status");
  }
}
