package io.qmpsidecar.sidecar.cli;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.FakeQmpServer;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code events --qmp} and {@code devices detach --qmp} against a scripted QMP server. */
class DirectEventsCommandTest {
  private static final String STOP = "{\"timestamp\":{\"seconds\":1700000000,\"microseconds\":250000},\"event\":\"STOP\"}";
  private static final String RESUME = "{\"timestamp\":{\"seconds\":1700000001,\"microseconds\":0},\"event\":\"RESUME\"}";
  private static final String DELETED = "{\"timestamp\":{\"seconds\":1700000002,\"microseconds\":0},\"event\":\"DEVICE_DELETED\","
      + "\"data\":{\"device\":\"nic1\",\"path\":\"/machine/peripheral/nic1\"}}";

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private Vertx vertx;
  private FakeQmpServer qemu;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    qemu = new FakeQmpServer(vertx, dir);
  }

  @AfterEach
  void stop() {
    qemu.close();
    result(vertx.close());
  }

  private CompletableFuture<Integer> runAsync(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return CompletableFuture.supplyAsync(() -> cli.execute(args));
  }

  /** The first client once it negotiated: what it is sent from then on, it must see. */
  private FakeQmpServer.Peer negotiated() {
    Await.until("the command negotiated", () -> !qemu.received().isEmpty());
    return qemu.peers().get(0);
  }

  @Test
  void followPrintsQemusEventsInTheSidecarsShapeFilteredByNameAndData() throws Exception {
    CompletableFuture<Integer> run = runAsync("events", "--qmp", qemu.address().toString(), "--vm", "vm1", "--follow",
        "--type", "qmp.DEVICE_DELETED,STOP", "--data", "device=nic1", "--limit", "1", "--max-time", "10");
    FakeQmpServer.Peer peer = negotiated();
    peer.send(STOP);
    peer.send(RESUME);
    peer.send(DELETED);
    assertThat(run.get(15, TimeUnit.SECONDS)).as(err.toString()).isEqualTo(0);
    assertThat(out.toString().lines()).containsExactly("{\"time\":\"2023-11-14T22:13:22Z\",\"vm\":\"vm1\","
        + "\"type\":\"qmp.DEVICE_DELETED\",\"data\":{\"device\":\"nic1\",\"path\":\"/machine/peripheral/nic1\","
        + "\"qemuTimestamp\":\"2023-11-14T22:13:22Z\"}}");
  }

  @Test
  void withoutFollowPrintsWhatArrivesWithinASecondAndExitsZero() throws Exception {
    long start = System.nanoTime();
    CompletableFuture<Integer> run = runAsync("events", "--qmp", qemu.address().toString(), "--type", "qmp.*");
    FakeQmpServer.Peer peer = negotiated();
    peer.send(STOP);
    peer.send(RESUME);
    assertThat(run.get(15, TimeUnit.SECONDS)).as(err.toString()).isEqualTo(0);
    assertThat((System.nanoTime() - start) / 1_000_000).as("ms until it exits").isBetween(1000L, 10_000L);
    assertThat(out.toString().lines()).containsExactly(
        "{\"time\":\"2023-11-14T22:13:20.250Z\",\"type\":\"qmp.STOP\",\"data\":{\"qemuTimestamp\":\"2023-11-14T22:13:20.250Z\"}}",
        "{\"time\":\"2023-11-14T22:13:21Z\",\"type\":\"qmp.RESUME\",\"data\":{\"qemuTimestamp\":\"2023-11-14T22:13:21Z\"}}");
  }

  @Test
  void qemuGoingAwayEndsAFollowWithExitFour() throws Exception {
    CompletableFuture<Integer> run = runAsync("events", "--qmp", qemu.address().toString(), "--follow");
    FakeQmpServer.Peer peer = negotiated();
    peer.send(STOP);
    peer.close();
    assertThat(run.get(15, TimeUnit.SECONDS)).isEqualTo(4);
    assertThat(out.toString().lines()).hasSize(1).allSatisfy(l -> assertThat(l).contains("\"type\":\"qmp.STOP\""));
    assertThat(err.toString()).contains("QEMU at " + qemu.address() + " closed the QMP connection");
  }

  @Test
  void detachOfADeviceQemuDoesNotHaveIsNotFoundAndExitsZeroAsThroughTheSidecar() throws Exception {
    qemu.onCommand((request, peer) -> peer.send(FakeQmpServer.reply(request,
        "\"error\":{\"class\":\"DeviceNotFound\",\"desc\":\"Device 'ghost' not found\"}")));
    assertThat(runAsync("devices", "detach", "--qmp", qemu.address().toString(), "ghost").get(15, TimeUnit.SECONDS))
        .isEqualTo(0);
    assertThat(out.toString().strip()).isEqualTo("NOT_FOUND: QEMU has no device ghost");
  }

  @Test
  void detachThatQemuRefusesPrintsQemusErrorAndExitsOne() throws Exception {
    qemu.onCommand((request, peer) -> peer.send(FakeQmpServer.reply(request,
        "\"error\":{\"class\":\"GenericError\",\"desc\":\"Bus 'pcie.0' does not support hotplugging\"}")));
    assertThat(runAsync("devices", "detach", "vm1", "rp1", "--qmp", qemu.address().toString()).get(15, TimeUnit.SECONDS))
        .isEqualTo(1);
    assertThat(err.toString().strip()).isEqualTo("GenericError: Bus 'pcie.0' does not support hotplugging");
  }

  @Test
  void detachCompletesWhenQemuReportsDeviceDeleted() throws Exception {
    qemu.onCommand((request, peer) -> {
      peer.ok(request);
      peer.sendLater(200, DELETED);
    });
    assertThat(runAsync("devices", "detach", "--qmp", qemu.address().toString(), "nic1", "--output", "json")
        .get(15, TimeUnit.SECONDS)).as(err.toString()).isEqualTo(0);
    assertThat(out.toString().strip()).isEqualTo("{\"id\":\"nic1\",\"outcome\":\"DETACHED\",\"detail\":\"nic1 is gone"
        + " (DEVICE_DELETED)\"}");
  }
}
