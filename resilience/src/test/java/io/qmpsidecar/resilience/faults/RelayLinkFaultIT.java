package io.qmpsidecar.resilience.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.LinkProxy;
import io.qmpsidecar.relay.testing.RelayPair;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DPU link cut (every TCP connection closed) and silent (the peer stops reading and
 * answering) twice during a stream of notifications, through relay-bridge's LinkProxy between
 * the host end and the DPU end (the set-up of relay-bridge's RelayLinkFailureTest). Counts what
 * the DPU end's received log lost or holds twice against the seqs the host handed out.
 */
class RelayLinkFaultIT {
  private static final int COUNT = 3000;
  private static final Duration NOTIFY_BOUND = Duration.ofSeconds(20);

  @TempDir Path dir;
  private RelayPair pair;
  private LinkProxy proxy;

  @AfterEach
  void close() {
    pair.close();
  }

  private void startThroughProxy() {
    pair = new RelayPair().dpu(DpuEndpointOptions.defaults().withHeartbeat(Duration.ofMillis(100), Duration.ofMillis(600)));
    proxy = new LinkProxy(pair.vertx, pair.dpu.actualPort());
    proxy.start(0);
    pair.host(pair.hostOptions(dir, proxy.port()).withHeartbeat(Duration.ofMillis(100), Duration.ofMillis(600))
        .withMaxOutboxEntries(RelayHostOptions.DEFAULT_MAX_OUTBOX_ENTRIES));
  }

  private void streamBreakingTwice(String fault, Runnable breakLink) throws Exception {
    startThroughProxy();
    FaultRun run = new FaultRun(fault);
    boolean passed = false;
    try {
      List<Future<Long>> pending = new ArrayList<>();
      for (int i = 1; i <= COUNT; i++) {
        pending.add(pair.host.notify(Notification.vmLifecycle("vm1", "E" + i)));
        if (i == COUNT / 3 || i == 2 * COUNT / 3) {
          Await.until("some notifications to reach the DPU", () -> !pair.received.isEmpty());
          breakLink.run();
        }
      }
      List<Long> seqs = new ArrayList<>();
      for (Future<Long> f : pending) {
        FaultRun.Outcome<Long> stored = run.bounded("a notification's store", f, NOTIFY_BOUND);
        assertThat(stored.failure()).as("notify failed").isNull();
        seqs.add(stored.value());
      }
      List<ReceivedNotification> got = pair.awaitReceived(COUNT);
      assertThat(run.checkSequence(got)).as("the DPU's received log").isEmpty();
      Set<Long> sent = new HashSet<>(seqs);
      Set<Long> arrived = new HashSet<>();
      got.forEach(n -> arrived.add(n.seq()));
      assertThat(arrived).as("every seq the host handed out, and nothing else").isEqualTo(sent);
      assertThat(got).extracting(n -> n.params().get("event")).as("each with its own payload")
          .containsExactlyElementsOf(got.stream().map(n -> (Object) ("E" + n.seq())).toList());
      passed = true;
    } finally {
      run.finish(passed);
    }
  }

  @Test
  void linkCutTwiceDuringAStream() throws Exception {
    streamBreakingTwice("DPU link cut (TCP connections closed) twice during 3000 notifications", () -> proxy.cutAll());
  }

  @Test
  void peerSilentTwiceDuringAStream() throws Exception {
    streamBreakingTwice("DPU peer silent (stops reading) twice during 3000 notifications", () -> proxy.freezeAll());
  }
}
