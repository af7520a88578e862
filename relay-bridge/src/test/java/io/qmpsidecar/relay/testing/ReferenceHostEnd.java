package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.conformance.HostEndFixture;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * This project's host end for the conformance suite: a {@link RelayHost} in this JVM with a
 * {@link RecordingExecutor} behind it, whose devices outlive a crash as QEMU's would. A crash is
 * a close of the host and its Vert.x: it stores nothing a crash would not, and what was running
 * stops with it (the kill -9 of a real process is RelayHostKillTest's).
 */
public final class ReferenceHostEnd implements HostEndFixture {

  private final Path store;
  private final RecordingExecutor executor = new RecordingExecutor();
  private final PrefixAuthorizer authorizer = new PrefixAuthorizer();
  private Vertx vertx;
  private volatile RelayHost host;
  private int emitted;

  public ReferenceHostEnd(Path dir) {
    this.store = dir.resolve("relay.db");
  }

  public RecordingExecutor executor() {
    return executor;
  }

  @Override
  public void start(Settings s) {
    vertx = Vertx.vertx();
    RelayHostOptions options = RelayHostOptions.forUrl(s.dpuUrl(), RelayPair.HOST_ID, store, null, false)
        .withSyncEveryCommit(false)
        .withMaxMessageBytes(s.maxMessageBytes())
        .withHeartbeat(s.heartbeatInterval(), s.heartbeatTimeout())
        .withMaxInFlightRequests(s.maxInFlightRequests())
        .withReconnectInitialDelay(Duration.ofMillis(50))
        .withReconnectMaxDelay(Duration.ofMillis(400));
    executor.notifyThrough(n -> host.notify(n));
    host = Await.result(RelayHost.start(vertx, options, executor, authorizer));
  }

  @Override
  public void crash() {
    stop();
    executor.crashed();
  }

  @Override
  public String hostId() {
    return RelayPair.HOST_ID;
  }

  @Override
  public String vm() {
    return "vm1";
  }

  @Override
  public void emitNotifications(int count) {
    for (int i = 0; i < count; i++) {
      Await.result(host.notify(Notification.vmLifecycle(vm(), "E" + ++emitted)));
    }
  }

  @Override
  public Optional<String> attachableBdf() {
    return Optional.of("0000:03:00.1");
  }

  @Override
  public String unpreparableBdf() {
    return RecordingExecutor.MISSING_BDF;
  }

  @Override
  public String bdfQemuRefuses() {
    return RecordingExecutor.QEMU_REFUSES_BDF;
  }

  @Override
  public void removeOutsideTheRelay(String vm, String deviceId) {
    executor.removeOutsideTheRelay(vm, deviceId);
  }

  @Override
  public void guestIgnoresUnplugs() {
    executor.guestIgnoresUnplugs();
  }

  @Override
  public String foreignDevice() {
    return RecordingExecutor.FOREIGN_DEVICE;
  }

  @Override
  public void throttleDpu(Duration retryAfter) {
    authorizer.throttle(retryAfter);
  }

  @Override
  public void holdOperations() {
    executor.holdAttaches();
  }

  @Override
  public void awaitHeldOperations(int count) {
    Await.until(count + " held operations", () -> executor.heldCount() >= count);
  }

  @Override
  public void releaseOperations() {
    executor.releaseHeld();
  }

  @Override
  public void close() {
    stop();
  }

  private void stop() {
    if (host != null) {
      Await.result(host.close());
      host = null;
    }
    if (vertx != null) {
      Await.result(vertx.close());
      vertx = null;
    }
  }
}
