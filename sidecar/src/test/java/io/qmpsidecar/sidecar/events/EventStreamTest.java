package io.qmpsidecar.sidecar.events;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.testing.TestVertx;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class EventStreamTest {
  @RegisterExtension static final TestVertx VERTX = new TestVertx();

  private static SidecarEvent publish(EventStream s, String type) {
    return s.publish("vm1", type, null, JsonNodeFactory.instance.objectNode().put("id", type));
  }

  @Test
  void aQemuEventsDataCarriesQemusMembersAndItsTimestampAndLeavesQemusNodeAlone() {
    EventStream s = new EventStream(VERTX.get(), Clock.systemUTC(), 10);
    ObjectNode qemu = JsonNodeFactory.instance.objectNode().put("device", "nic1").put("path", "/machine/peripheral/nic1");
    SidecarEvent e = s.publishQemu("vm1", "qmp.DEVICE_DELETED", qemu, Instant.ofEpochSecond(1795508409, 151065000));

    assertThat(e.text("device")).isEqualTo("nic1");
    assertThat(e.text("qemuTimestamp")).isEqualTo("2026-11-24T08:20:09.151065Z");
    assertThat(e.data().toString()).isEqualTo("{\"device\":\"nic1\",\"path\":\"/machine/peripheral/nic1\","
        + "\"qemuTimestamp\":\"2026-11-24T08:20:09.151065Z\"}");
    assertThat(e.data()).isSameAs(e.data());
    assertThat(qemu.has("qemuTimestamp")).isFalse();
    assertThat(s.since(0).events()).containsExactly(e);
  }

  @Test
  void idsAreMonotonicAndSinceReplaysWhatFollows() {
    EventStream s = new EventStream(VERTX.get(), Clock.systemUTC(), 10);
    SidecarEvent a = publish(s, "a");
    SidecarEvent b = publish(s, "b");
    SidecarEvent c = publish(s, "c");

    assertThat(List.of(a.id(), b.id(), c.id())).containsExactly(1L, 2L, 3L);
    EventReplay r = s.since(1);
    assertThat(r.events()).containsExactly(b, c);
    assertThat(r.complete()).isTrue();
    assertThat(s.since(3).events()).isEmpty();
    assertThat(s.since(3).complete()).isTrue();
  }

  @Test
  void aResumePointOlderThanTheRingIsIncomplete() {
    EventStream s = new EventStream(VERTX.get(), Clock.systemUTC(), 3);
    for (int i = 0; i < 5; i++) {
      publish(s, "e" + i);
    }

    EventReplay old = s.since(1);
    assertThat(old.complete()).isFalse();
    assertThat(old.gap().orElseThrow().reason()).isEqualTo(EventReplay.Reason.EVICTED);
    assertThat(old.gap().orElseThrow().oldestId()).isEqualTo(3L);
    assertThat(old.events()).extracting(SidecarEvent::id).containsExactly(3L, 4L, 5L);
    assertThat(s.since(2).complete()).isTrue();
  }

  @Test
  void idsOfALaterRunStartAboveEveryIdOfTheEarlierOneEvenWhenTheClockWentBack(@TempDir Path state) {
    Clock now = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
    EventEpoch first = result(EventEpoch.open(VERTX.get(), state, now));
    assertThat(first.base()).as("the run's start in microseconds").isEqualTo(1_796_119_200_000_000L);
    EventStream run1 = new EventStream(VERTX.get(), now, 10, first);
    SidecarEvent a = publish(run1, "a");
    assertThat(a.id()).isEqualTo(first.base() + 1);

    Clock earlier = Clock.offset(now, Duration.ofHours(-1));
    EventStream run2 = new EventStream(VERTX.get(), earlier, 10, result(EventEpoch.open(VERTX.get(), state, earlier)));
    SidecarEvent b = publish(run2, "b");
    assertThat(b.id()).as("above the block run 1 reserved").isGreaterThan(a.id() + EventEpoch.BLOCK - 1);
    assertThat(b.id()).isLessThan(1L << 53);
  }

  @Test
  void aRunReservesTheNextBlockBeforeItRunsOutOfTheFirst(@TempDir Path state) throws Exception {
    Clock now = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
    EventEpoch epoch = result(EventEpoch.open(VERTX.get(), state, now));
    long base = epoch.base();
    assertThat(Files.readString(state.resolve(EventEpoch.FILE_NAME)).strip())
        .isEqualTo(Long.toString(base + EventEpoch.BLOCK));

    epoch.issued(base + EventEpoch.BLOCK / 2);
    Await.until("the next block is reserved", () -> readCeiling(state) == base + 2 * EventEpoch.BLOCK);
    EventEpoch next = result(EventEpoch.open(VERTX.get(), state, now));
    assertThat(next.base()).isEqualTo(base + 2 * EventEpoch.BLOCK);
  }

  @Test
  void anUnreadableReservationFallsBackToTheClock(@TempDir Path state) throws Exception {
    Files.writeString(state.resolve(EventEpoch.FILE_NAME), "garbage\n");
    Clock now = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
    assertThat(result(EventEpoch.open(VERTX.get(), state, now)).base()).isEqualTo(1_796_119_200_000_000L);
  }

  @Test
  void aResumePointFromAnEarlierRunOrNoRunGetsAGapAndThisRunsWholeLog(@TempDir Path state) {
    Clock clock = Clock.systemUTC();
    EventStream run1 = new EventStream(VERTX.get(), clock, 10, result(EventEpoch.open(VERTX.get(), state, clock)));
    long fromRun1 = publish(run1, "old").id();
    EventStream run2 = new EventStream(VERTX.get(), clock, 10, result(EventEpoch.open(VERTX.get(), state, clock)));
    SidecarEvent x = publish(run2, "x");
    SidecarEvent y = publish(run2, "y");

    EventReplay restarted = run2.since(fromRun1);
    assertThat(restarted.events()).containsExactly(x, y);
    assertThat(restarted.after()).isEqualTo(run2.firstId() - 1);
    EventReplay.Gap gap = restarted.gap().orElseThrow();
    assertThat(gap.reason()).isEqualTo(EventReplay.Reason.RESTARTED);
    assertThat(gap.lastEventId()).isEqualTo(fromRun1);
    assertThat(gap.firstId()).isEqualTo(x.id());
    assertThat(gap.evicted()).isFalse();

    EventReplay unknown = run2.since(y.id() + 5);
    assertThat(unknown.events()).containsExactly(x, y);
    assertThat(unknown.gap().orElseThrow().reason()).isEqualTo(EventReplay.Reason.UNKNOWN);

    assertThat(run2.since(0).events()).containsExactly(x, y);
    assertThat(run2.since(0).complete()).isTrue();
    assertThat(run2.since(run2.firstId() - 1).events()).as("the base: from this run's first").containsExactly(x, y);
    assertThat(run2.since(run2.firstId() - 1).complete()).isTrue();
    assertThat(run2.since(x.id()).events()).containsExactly(y);
    assertThat(run2.since(y.id()).complete()).isTrue();
  }

  /** Ids are times: an older id of another sidecar (another state directory) reads as an earlier run. */
  @Test
  void anOlderIdOfAnotherSidecarGetsTheRestartedGapAndANewerOneTheUnknownGap(@TempDir Path dirs) throws Exception {
    Clock early = Clock.fixed(Instant.parse("2026-12-01T10:00:00Z"), ZoneOffset.UTC);
    Clock mid = Clock.fixed(Instant.parse("2026-12-01T10:05:00Z"), ZoneOffset.UTC);
    Clock late = Clock.fixed(Instant.parse("2026-12-01T10:10:00Z"), ZoneOffset.UTC);
    long older = publish(stream(dirs.resolve("older"), early), "theirs").id();
    long newer = publish(stream(dirs.resolve("newer"), late), "theirs").id();
    EventStream mine = stream(dirs.resolve("mine"), mid);
    SidecarEvent x = publish(mine, "x");

    EventReplay fromOlder = mine.since(older);
    assertThat(fromOlder.gap().orElseThrow().reason()).isEqualTo(EventReplay.Reason.RESTARTED);
    assertThat(fromOlder.events()).containsExactly(x);
    EventReplay fromNewer = mine.since(newer);
    assertThat(fromNewer.gap().orElseThrow().reason()).isEqualTo(EventReplay.Reason.UNKNOWN);
    assertThat(fromNewer.events()).containsExactly(x);
  }

  private static EventStream stream(Path state, Clock clock) throws java.io.IOException {
    Files.createDirectories(state);
    return new EventStream(VERTX.get(), clock, 10, result(EventEpoch.open(VERTX.get(), state, clock)));
  }

  private static long readCeiling(Path state) {
    try {
      return Long.parseLong(Files.readString(state.resolve(EventEpoch.FILE_NAME)).strip());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void subscribersGetMatchingEventsInOrder() {
    EventStream s = new EventStream(VERTX.get(), Clock.systemUTC(), 10);
    List<String> got = new CopyOnWriteArrayList<>();
    EventSubscription sub = s.subscribe(e -> !e.type().equals("skip"), 10, e -> got.add(e.type()));

    publish(s, "a");
    publish(s, "skip");
    publish(s, "b");

    Await.until("two events delivered", () -> got.size() == 2);
    assertThat(got).containsExactly("a", "b");
    sub.cancel();
    publish(s, "c");
    assertThat(sub.delivered()).isEqualTo(2);
  }

  @Test
  void aSlowSubscriberDropsAndCountsWithoutSlowingOthers() throws Exception {
    EventStream s = new EventStream(VERTX.get(), Clock.systemUTC(), 100);
    CountDownLatch release = new CountDownLatch(1);
    AtomicLong droppedReported = new AtomicLong(-1);
    List<String> slowGot = new CopyOnWriteArrayList<>();
    EventSubscription slow = s.subscribe(e -> true, 2, new EventListener() {
      @Override
      public void onEvent(SidecarEvent event) {
        slowGot.add(event.type());
        if (event.type().equals("first")) {
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }

      @Override
      public void onDropped(long count) {
        droppedReported.set(count);
      }
    });
    List<String> fastGot = new CopyOnWriteArrayList<>();
    Vertx other = Vertx.vertx();
    try {
      EventSubscription fast = result(other.executeBlocking(() -> s.subscribe(e -> true, 100,
          e -> fastGot.add(e.type()))));
      publish(s, "first");
      Await.until("slow subscriber is inside its listener", () -> slowGot.size() == 1);
      for (int i = 0; i < 5; i++) {
        publish(s, "x" + i);
      }
      Await.until("fast subscriber got all six", () -> fastGot.size() == 6);
      release.countDown();
      Await.until("slow subscriber drained its queue", () -> slowGot.size() == 3);
      publish(s, "last");

      Await.until("slow subscriber caught up", () -> slowGot.contains("last"));
      assertThat(slow.dropped()).isEqualTo(3);
      assertThat(droppedReported.get()).isEqualTo(3);
      assertThat(slowGot).containsExactly("first", "x0", "x1", "last");
      assertThat(fast.dropped()).isZero();
    } finally {
      release.countDown();
      result(other.close());
    }
  }
}
