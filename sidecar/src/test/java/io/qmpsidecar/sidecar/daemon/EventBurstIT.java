package io.qmpsidecar.sidecar.daemon;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.concurrent.EventExecutor;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.vertx.core.internal.VertxInternal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * QEMU's events that pile up while the sidecar's event loops stall (as in a collection pause)
 * arrive together afterwards and all reach the event stream. The stall is made on purpose: a
 * task that sleeps on each of the sidecar's event loops while a second monitor makes QEMU emit
 * 300 STOP/RESUME events.
 */
class EventBurstIT {
  private static final int EVENTS = 300;
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  @QemuTest
  void eventsThatArriveTogetherAfterAStallAreAllPublished(QemuBinary binary) throws Exception {
    Path second = harness.dir().resolve("driver.qmp");
    QemuProcess qemu = harness.qemu(binary, "vm", 1,
        "-chardev", "socket,id=driver,path=" + second + ",server=on,wait=off", "-mon", "chardev=driver,mode=control");
    Sidecar sidecar = harness.start(harness.config().vm("vm", qemu));
    AtomicInteger lifecycle = new AtomicInteger();
    AtomicInteger resets = new AtomicInteger();
    AtomicInteger gaps = new AtomicInteger();
    EventSubscription sub = sidecar.events().subscribe(e -> e.type().startsWith("qmp."), 4 * EVENTS, e -> {
      switch (e.type()) {
        case "qmp.STOP", "qmp.RESUME" -> lifecycle.incrementAndGet();
        case "qmp.RESET" -> resets.incrementAndGet();
        case "qmp.events-dropped" -> gaps.incrementAndGet();
        default -> { }
      }
    });
    QmpClient driver = QmpClient.create(harness.vertx(), QmpClientOptions.of(QmpAddress.parse("unix:" + second)));
    harness.track(() -> result(driver.close()));
    QmpConnection c = result(driver.connect());
    // The sidecar may still be connecting: resets (not counted below) until one comes through.
    Await.until("the sidecar follows the VM's events", () -> {
      result(c.systemReset());
      return resets.get() > 0;
    });

    Stall stall = stallEveryEventLoop(sidecar);
    assertThat(stall.entered.await(10, TimeUnit.SECONDS)).as("every event loop of the sidecar stalls").isTrue();
    for (int i = 0; i < EVENTS / 2; i++) {
      result(c.stop());
      result(c.cont());
    }
    stall.release.countDown();
    assertThat(stall.done.await(10, TimeUnit.SECONDS)).isTrue();
    Await.until("every event is published, or some are reported dropped", () -> lifecycle.get() == EVENTS
        || gaps.get() > 0);
    sub.cancel();
    assertThat(gaps.get()).as("qmp.events-dropped markers").isZero();
    assertThat(lifecycle.get()).isEqualTo(EVENTS);
  }

  /** Latches of a stall: every loop has entered it, the test releases it, every loop has left it. */
  private record Stall(CountDownLatch entered, CountDownLatch release, CountDownLatch done) {}

  /** Blocks each of the sidecar's event loops until the test releases them (30 s at most). */
  private static Stall stallEveryEventLoop(Sidecar sidecar) {
    List<EventExecutor> loops = new ArrayList<>();
    ((VertxInternal) sidecar.vertx()).nettyEventLoopGroup().forEach(loops::add);
    Stall stall = new Stall(new CountDownLatch(loops.size()), new CountDownLatch(1), new CountDownLatch(loops.size()));
    for (EventExecutor loop : loops) {
      loop.execute(() -> {
        stall.entered.countDown();
        try {
          stall.release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          stall.done.countDown();
        }
      });
    }
    return stall;
  }
}
