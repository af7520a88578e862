package io.qmpsidecar.sidecar.events;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.testing.Await;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EventStreamTest {
  private static Vertx vertx;

  @BeforeAll
  static void startVertx() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stopVertx() {
    result(vertx.close());
  }

  private static SidecarEvent publish(EventStream s, String type) {
    return s.publish("vm1", type, null, JsonNodeFactory.instance.objectNode().put("id", type));
  }

  @Test
  void aQemuEventsDataCarriesQemusMembersAndItsTimestampAndLeavesQemusNodeAlone() {
    EventStream s = new EventStream(vertx, Clock.systemUTC(), 10);
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
    EventStream s = new EventStream(vertx, Clock.systemUTC(), 10);
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
    EventStream s = new EventStream(vertx, Clock.systemUTC(), 3);
    for (int i = 0; i < 5; i++) {
      publish(s, "e" + i);
    }

    EventReplay old = s.since(1);
    assertThat(old.complete()).isFalse();
    assertThat(old.events()).extracting(SidecarEvent::id).containsExactly(3L, 4L, 5L);
    assertThat(s.since(2).complete()).isTrue();
  }

  @Test
  void subscribersGetMatchingEventsInOrder() {
    EventStream s = new EventStream(vertx, Clock.systemUTC(), 10);
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
    EventStream s = new EventStream(vertx, Clock.systemUTC(), 100);
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
