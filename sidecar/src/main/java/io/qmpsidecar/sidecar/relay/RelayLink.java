package io.qmpsidecar.sidecar.relay;

import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.LinkState;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's end of the DPU link: dials the configured DPU endpoint, runs its requests through
 * the operations layer as caller {@code dpu} (which decides them), and forwards what the DPU must
 * know (its operations' course, {@code device.deleted}, VM lifecycle, migration steps) from the
 * event stream through the relay's durable outbox.
 */
public final class RelayLink {
  private static final Logger LOG = LoggerFactory.getLogger(RelayLink.class);
  /** In-process backlog towards the outbox; the outbox itself is durable and far larger. */
  static final int FORWARD_QUEUE = 65_536;

  private final RelayHost host;
  private final EventSubscription forwarding;
  private volatile LinkState.Status status = LinkState.Status.CONNECTING;

  private RelayLink(RelayHost host, EventSubscription forwarding) {
    this.host = host;
    this.forwarding = forwarding;
  }

  /**
   * Starts the link to the DPU configured in {@code relay.url} (its options were checked when the
   * configuration was read).
   *
   * @return the running link once its store is open (the link itself comes up later); fails
   *     naming what is wrong with its store
   */
  public static Future<RelayLink> start(Vertx vertx, SidecarConfig config, Operations operations, EventStream events,
      SidecarMetrics metrics) {
    SidecarConfig.Relay relay = config.relay();
    Context context = vertx.getOrCreateContext();
    Promise<RelayLink> started = Promise.promise();
    TrackedOps tracked = new TrackedOps();
    RelayExecutor executor = new RelayExecutor(vertx, operations, tracked, relay.options().executorTimeout());
    context.runOnContext(v -> RelayHost.start(vertx, relay.options(), executor,
            // The operations layer decides every request of the DPU, once, with the facts it resolves.
            (caller, method, params) -> AuthorizationDecision.allow("decided-by-operations"))
        .map(host -> {
          DpuForwarder forwarder = new DpuForwarder(n -> host.notify(n).onFailure(e -> LOG.error("relay: notification"
              + " {} not stored ({}); the DPU gets it in its next state.snapshot", n.method(), e.getMessage())),
              tracked, context);
          // Subscribed before the records are read: a change in between is seen by both, never by neither.
          // What happened before the host started is in the snapshot the DPU takes at the new epoch.
          EventSubscription forwarding = events.subscribe(e -> DpuForwarder.forwarded(e.type()), FORWARD_QUEUE,
              forwarder);
          forwarder.recorded(operations.recorded());
          RelayLink link = new RelayLink(host, forwarding);
          host.linkStateHandler(state -> {
            LOG.info("relay link to {}: {}", relay.url(), state.status());
            link.status = state.status();
          });
          metrics.gauge("qmp_sidecar_relay_link_up", "1 while the link to the DPU is up",
              () -> link.connected() ? 1 : 0);
          metrics.gauge("qmp_sidecar_relay_outbox_unacked",
              "notifications the DPU has not acknowledged (stored or waiting to be)", host::unacknowledged);
          return link;
        })
        .onComplete(started));
    return started.future();
  }

  /** Whether the link to the DPU is up now. */
  public boolean connected() {
    return status == LinkState.Status.CONNECTED;
  }

  public Future<Void> close() {
    forwarding.cancel();
    return host.close();
  }
}
