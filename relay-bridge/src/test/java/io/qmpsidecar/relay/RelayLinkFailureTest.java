package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.LinkProxy;
import io.qmpsidecar.relay.testing.RelayPair;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The link breaks under a running stream; every notification still arrives once, in order. */
class RelayLinkFailureTest {

  private static final int COUNT = 3000;

  @TempDir Path dir;
  RelayPair pair;
  LinkProxy proxy;

  @AfterEach
  void close() {
    pair.close();
  }

  private void startThroughProxy(long maxOutboxEntries) {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults()
        .withHeartbeat(Duration.ofMillis(100), Duration.ofMillis(600)));
    proxy = new LinkProxy(pair.vertx, pair.dpu.actualPort());
    proxy.start(0);
    pair.host(pair.hostOptions(dir, proxy.port())
        .withHeartbeat(Duration.ofMillis(100), Duration.ofMillis(600))
        .withMaxOutboxEntries(maxOutboxEntries));
  }

  /** Emits {@code COUNT} notifications, breaking the link twice while they flow. */
  private List<Long> emitBreaking(Runnable breakLink) {
    List<Future<Long>> seqs = new ArrayList<>();
    for (int i = 1; i <= COUNT; i++) {
      seqs.add(pair.host.notify(Notification.vmLifecycle("vm1", "E" + i)));
      if (i == COUNT / 3 || i == 2 * COUNT / 3) {
        Await.until("some notifications to reach the DPU", () -> !pair.received.isEmpty());
        breakLink.run();
      }
    }
    return seqs.stream().map(Await::result).toList();
  }

  private void assertExactlyOnceInOrder(List<Long> seqs) {
    List<ReceivedNotification> got = pair.awaitReceived(seqs.size());
    assertThat(seqs).containsExactlyElementsOf(LongStream.rangeClosed(1, seqs.size()).boxed().toList());
    assertThat(got).extracting(ReceivedNotification::seq).containsExactlyElementsOf(seqs);
    assertThat(got).extracting(n -> n.params().get("event"))
        .containsExactlyElementsOf(seqs.stream().map(s -> (Object) ("E" + s)).toList());
  }

  @Test
  void closedTcpConnectionsMidStreamLoseAndDuplicateNothing() {
    startThroughProxy(RelayHostOptions.DEFAULT_MAX_OUTBOX_ENTRIES);

    List<Long> seqs = emitBreaking(proxy::cutAll);

    assertExactlyOnceInOrder(seqs);
    assertThat(pair.states).extracting(LinkState::status).contains(LinkState.Status.DISCONNECTED);
  }

  @Test
  void peerThatStopsAnsweringIsDetectedByHeartbeatAndTheStreamResumes() {
    startThroughProxy(RelayHostOptions.DEFAULT_MAX_OUTBOX_ENTRIES);

    List<Long> seqs = emitBreaking(proxy::freezeAll);

    assertExactlyOnceInOrder(seqs);
    assertThat(pair.states).filteredOn(s -> s.status() == LinkState.Status.DISCONNECTED)
        .anySatisfy(s -> assertThat(s.cause()).hasMessageContaining("presumed dead"));
  }

  /**
   * The DPU closes the link (its close frame) but its TCP connection stays open, as when it
   * vanishes right after the frame. The host takes the link as down at the frame, with the DPU's
   * reason, keeps every notification emitted around it, and ends the connection itself, so that
   * nothing stays open and the host can still close. Before, the host noticed only at the heartbeat
   * timeout; notifications emitted until then made its send loop throw, so their futures never
   * completed, and closing the host waited for that connection for good.
   */
  @Test
  void aDpuThatClosesTheLinkButLeavesItsConnectionOpenLosesNothingAndHoldsNothingOpen() throws Exception {
    startThroughProxy(RelayHostOptions.DEFAULT_MAX_OUTBOX_ENTRIES);
    List<Future<Long>> seqs = new ArrayList<>();
    seqs.add(pair.host.notify(Notification.vmLifecycle("vm1", "E1")));
    pair.awaitReceived(1);

    int before = pair.states.size();
    proxy.closeFromDpuAll();
    for (int i = 2; i <= 50; i++) {
      seqs.add(pair.host.notify(Notification.vmLifecycle("vm1", "E" + i)));
      Thread.sleep(10);
    }

    assertExactlyOnceInOrder(seqs.stream().map(Await::result).toList());
    assertThat(pair.states.subList(before, pair.states.size()))
        .filteredOn(s -> s.status() == LinkState.Status.DISCONNECTED)
        .first().satisfies(s -> assertThat(s.cause()).hasMessageContaining("going away"));
    Await.until("the host to end the connection the DPU left open", () -> proxy.lingering() == 0);
  }

  @Test
  void dpuBehindTheRetainedOutboxGetsASnapshotThenTheStream() {
    startThroughProxy(10);
    proxy.stop();
    Await.until("the host to notice the link is down",
        () -> pair.states.stream().anyMatch(s -> s.status() == LinkState.Status.DISCONNECTED));

    for (int i = 1; i <= 50; i++) {
      Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "E" + i)));
    }
    proxy.start(proxy.port());
    List<ReceivedNotification> first = pair.awaitReceived(11);
    long next = Await.result(pair.host.notify(Notification.vmLifecycle("vm1", "after")));
    List<ReceivedNotification> got = pair.awaitReceived(12);

    assertThat(first.get(0).method()).isEqualTo(RelayMethods.STATE_SNAPSHOT);
    assertThat(first.get(0).seq()).as("numbered just before the oldest retained entry").isEqualTo(40);
    assertThat(first.get(0).params()).containsKeys("vms", "devices");
    assertThat(first.subList(1, 11)).as("then the 10 retained ones").extracting(n -> n.params().get("event"))
        .containsExactlyElementsOf(IntStream.rangeClosed(41, 50).mapToObj(i -> (Object) ("E" + i)).toList());
    assertThat(next).isEqualTo(51);
    assertThat(got.get(11).seq()).isEqualTo(51);
    assertThat(pair.executor.calls()).contains("snapshot");
  }
}
