package io.qmpsidecar.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.libvirt.testing.LibvirtExtension;
import io.qmpsidecar.libvirt.testing.TestDomain;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The client against a libvirtd that restarts or gets stuck: it notices the loss, fails calls
 * fast, reconnects, re-registers its events; a stuck call times out; the call queue is bounded.
 */
class LibvirtReconnectIT {
  @RegisterExtension
  static final LibvirtExtension LIBVIRT = LibvirtExtension.daemons(1);

  private static final Duration WAIT = Duration.ofSeconds(30);
  private final List<LibvirtClient> clients = new ArrayList<>();
  private final Events events = new Events();

  @AfterEach
  void closeClients() throws Exception {
    for (LibvirtClient c : clients) {
      c.close().get(30, TimeUnit.SECONDS);
    }
  }

  private LibvirtClient client(LibvirtClientOptions options) throws Exception {
    LibvirtClient c = LibvirtClient.connect(options).get(30, TimeUnit.SECONDS);
    clients.add(c);
    c.addListener(events);
    return c;
  }

  @QemuTest
  void reconnectsAfterALibvirtdRestartAndItsEventsStillArrive(QemuBinary qemu) throws Exception {
    LIBVIRT.daemon().createDomain(TestDomain.xml("restart", LIBVIRT.emulator(qemu), 2, 64), true);
    LibvirtClient client = client(LibvirtClientOptions.of(LIBVIRT.daemon().uri())
        .withReconnect(Duration.ofMillis(100), Duration.ofMillis(500)));
    DomainRef dom = client.lookup("restart").get(30, TimeUnit.SECONDS);
    DomainXml.RootPort port = DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).freeRootPorts().get(0);
    client.attachDevice(dom, TestDomain.userNic("ua-dpu-r", "52:54:00:00:30:01", port.slotAddress().toXml()))
        .get(30, TimeUnit.SECONDS);

    long t0 = System.nanoTime();
    LIBVIRT.daemon().stopLibvirtd();
    LibvirtEvent.ConnectionLost lost = events.await(LibvirtEvent.ConnectionLost.class, e -> true, WAIT);
    long lostMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(lost.uri()).isEqualTo(LIBVIRT.daemon().uri());
    assertThat(client.isConnected()).isFalse();
    assertThatThrownBy(() -> client.state(dom).get(30, TimeUnit.SECONDS))
        .cause().isInstanceOf(LibvirtUnavailableException.class).hasMessageContaining("not connected to libvirtd");

    t0 = System.nanoTime();
    LIBVIRT.daemon().startLibvirtd();
    long startMs = (System.nanoTime() - t0) / 1_000_000;
    LibvirtEvent.Reconnected back = events.await(LibvirtEvent.Reconnected.class, e -> true, WAIT);
    long reconnectMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(back.attempts()).isPositive();
    System.out.printf("%s: connection loss noticed in %d ms; libvirtd restart %d ms; reconnected after %d ms (%d attempts)%n",
        qemu, lostMs, startMs, reconnectMs, back.attempts());

    // libvirtd re-attached to the running QEMU; the device is still ours, and events flow again.
    assertThat(client.state(dom).get(30, TimeUnit.SECONDS)).isEqualTo(DomainState.PAUSED);
    assertThat(DomainXml.parse(client.liveXml(dom).get(30, TimeUnit.SECONDS)).addressOf("ua-dpu-r"))
        .contains(port.slotAddress());
    client.detachDeviceAlias(dom, "ua-dpu-r").get(30, TimeUnit.SECONDS);
    client.reset(dom).get(30, TimeUnit.SECONDS);
    events.await(LibvirtEvent.DeviceRemoved.class, e -> e.alias().equals("ua-dpu-r"), WAIT);
    assertThat(client.messages(dom).get(30, TimeUnit.SECONDS)).noneMatch(m -> m.contains("taint"));
    assertThat(LIBVIRT.daemon().qemuLog("restart")).doesNotContain("tainted");
  }

  @QemuTest
  void aCallToAStuckLibvirtdTimesOutAndTheQueueIsBounded(QemuBinary qemu) throws Exception {
    LIBVIRT.daemon().createDomain(TestDomain.xml("stuck", LIBVIRT.emulator(qemu), 1, 64), true);
    LibvirtClient client = client(LibvirtClientOptions.of(LIBVIRT.daemon().uri())
        .withCallTimeout(Duration.ofSeconds(1)).withWorkers(1, 1));
    DomainRef dom = client.lookup("stuck").get(30, TimeUnit.SECONDS);

    LIBVIRT.daemon().freeze();
    long t0 = System.nanoTime();
    // One worker and one queue slot: of five calls at most two are taken (one blocked in
    // libvirt, one waiting); the others fail at once.
    List<CompletableFuture<DomainState>> calls = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      calls.add(client.state(dom));
    }
    List<CompletableFuture<DomainState>> rejected = calls.stream().filter(CompletableFuture::isCompletedExceptionally).toList();
    assertThat(rejected).hasSizeBetween(3, 4);
    assertThatThrownBy(() -> rejected.get(0).get(30, TimeUnit.SECONDS))
        .cause().isInstanceOf(LibvirtUnavailableException.class).hasMessageContaining("1 libvirt calls are already waiting");
    for (CompletableFuture<DomainState> taken : calls.stream().filter(c -> !rejected.contains(c)).toList()) {
      assertThatThrownBy(() -> taken.get(30, TimeUnit.SECONDS))
          .cause().isInstanceOfSatisfying(LibvirtTimeoutException.class,
              e -> assertThat(e.timeout()).isEqualTo(Duration.ofSeconds(1)));
    }
    assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(900L, 10_000L);

    LIBVIRT.daemon().thaw();
    // The stuck worker finishes once libvirtd answers; then calls go through again.
    long deadline = System.nanoTime() + WAIT.toNanos();
    DomainState state = null;
    while (state == null && System.nanoTime() < deadline) {
      try {
        state = client.state(dom).get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        Thread.sleep(100);
      }
    }
    assertThat(state).isEqualTo(DomainState.PAUSED);
  }
}
