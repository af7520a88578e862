package io.qmpsidecar.relay.testing;

import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.LinkState;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/** A DPU endpoint and a relay host linked on loopback, with what the DPU received. */
public final class RelayPair implements AutoCloseable {

  public static final String HOST_ID = "host-a";

  public final Vertx vertx = Vertx.vertx();
  public final RecordingExecutor executor = new RecordingExecutor();
  public final PrefixAuthorizer authorizer = new PrefixAuthorizer();
  public final List<ReceivedNotification> received = Collections.synchronizedList(new ArrayList<>());
  /** Written by the host's event loop, read by tests while the link keeps changing. */
  public final List<LinkState> states = new CopyOnWriteArrayList<>();
  public DpuEndpoint dpu;
  public volatile RelayHost host;

  /** Starts the DPU end only. */
  public RelayPair dpu(DpuEndpointOptions options) {
    dpu = Await.result(DpuEndpoint.listen(vertx, options));
    dpu.notificationHandler(received::add);
    return this;
  }

  /** Host options for this pair's DPU port, store in {@code dir}, fast heartbeats and redials. */
  public RelayHostOptions hostOptions(Path dir, int port) {
    return RelayHostOptions.of("127.0.0.1", port, HOST_ID, dir.resolve("relay.db"))
        .withSyncEveryCommit(false)
        .withReconnectInitialDelay(Duration.ofMillis(50))
        .withReconnectMaxDelay(Duration.ofMillis(400));
  }

  /** Starts the host and waits until its link is up. */
  public RelayPair host(RelayHostOptions options) {
    executor.notifyThrough(n -> host.notify(n));
    host = Await.result(RelayHost.start(vertx, options, executor, authorizer));
    host.linkStateHandler(states::add);
    awaitConnected();
    return this;
  }

  public static RelayPair plain(Path dir) {
    return plain(dir, o -> o);
  }

  public static RelayPair plain(Path dir, UnaryOperator<RelayHostOptions> hostOptions) {
    RelayPair pair = new RelayPair().dpu(DpuEndpointOptions.defaults());
    return pair.host(hostOptions.apply(pair.hostOptions(dir, pair.dpu.actualPort())));
  }

  public void awaitConnected() {
    Await.until("host " + HOST_ID + " connected to the DPU", () -> dpu.connectedHosts().contains(HOST_ID));
  }

  /** Waits until the DPU has processed {@code count} notifications. */
  public List<ReceivedNotification> awaitReceived(int count) {
    return awaitReceived(count, Await.TIMEOUT);
  }

  /** As {@link #awaitReceived(int)}, waiting up to {@code wait}: for bulk sends on a slow machine. */
  public List<ReceivedNotification> awaitReceived(int count, Duration wait) {
    Await.until(count + " notifications at the DPU (have " + received.size() + ")", wait,
        () -> received.size() >= count);
    synchronized (received) {
      return List.copyOf(received);
    }
  }

  @Override
  public void close() {
    if (host != null) {
      Await.result(host.close());
    }
    if (dpu != null) {
      Await.result(dpu.close());
    }
    Await.result(vertx.close());
  }
}
