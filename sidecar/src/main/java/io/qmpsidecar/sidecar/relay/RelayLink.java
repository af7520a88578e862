package io.qmpsidecar.sidecar.relay;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.LinkState;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RelayTls;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's end of the DPU link: dials the configured DPU endpoint, runs its requests through
 * the operations layer as caller {@code dpu} (which decides them), and forwards what the DPU must
 * know ({@code device.deleted}, VM lifecycle, operation outcomes, migration steps) from the event
 * stream through the relay's durable outbox.
 */
public final class RelayLink {
  private static final Logger LOG = LoggerFactory.getLogger(RelayLink.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** In-process backlog towards the outbox; the outbox itself is durable and far larger. */
  static final int FORWARD_QUEUE = 65_536;
  private static final Set<String> LIFECYCLE = Set.of("qmp.STOP", "qmp.RESUME", "qmp.SHUTDOWN", "qmp.RESET",
      "qmp.POWERDOWN");

  private final RelayHost host;
  private final Outbox outbox;
  private final PendingRelayOps pending;
  private final EventSubscription forwarding;
  private volatile LinkState.Status status = LinkState.Status.CONNECTING;

  /**
   * Where the executor's notifications go: the relay host, which exists once its store is open;
   * the DPU's requests, and so the notifications they cause, only arrive after that.
   */
  private static final class Outbox {
    private volatile RelayHost host;

    void send(Notification n) {
      host.notify(n).onFailure(e -> LOG.error("relay: notification {} not stored: {}", n.method(), e.getMessage()));
    }
  }

  private RelayLink(RelayHost host, Outbox outbox, PendingRelayOps pending, EventStream events) {
    this.host = host;
    this.outbox = outbox;
    this.pending = pending;
    this.forwarding = events.subscribe(e -> forwarded(e.type()), FORWARD_QUEUE, new EventListener() {
      @Override
      public void onEvent(SidecarEvent e) {
        forward(e);
      }

      @Override
      public void onDropped(long count) {
        LOG.error("relay: {} events were not forwarded to the DPU (the outbox fell {} behind);"
            + " the DPU should ask for state.snapshot", count, FORWARD_QUEUE);
      }
    });
  }

  /**
   * Starts the link to the DPU configured in {@code relay.url}.
   *
   * @return the running link once its store is open (the link itself comes up later); fails
   *     naming what is wrong with the relay settings or its store
   */
  public static Future<RelayLink> start(Vertx vertx, SidecarConfig config, Operations operations, EventStream events,
      SidecarMetrics metrics) {
    SidecarConfig.Relay relay = config.relay();
    URI url = URI.create(relay.url());
    boolean tls = "wss".equals(url.getScheme());
    if (!tls && !"ws".equals(url.getScheme())) {
      return Future.failedFuture(new IllegalArgumentException("relay.url must be wss://HOST:PORT (or ws:// on loopback), got "
          + relay.url()));
    }
    RelayHostOptions options = RelayHostOptions.of(url.getHost(), url.getPort(), relay.hostId(),
        config.stateDir().resolve("relay.db"));
    if (tls) {
      options = options.withTls(new RelayTls(relay.cert(), relay.key(), relay.ca()));
    }
    options = options.withAllowPlainRemote(relay.allowPlainRemote());
    Outbox outbox = new Outbox();
    PendingRelayOps pending = new PendingRelayOps();
    RelayExecutor executor = new RelayExecutor(operations, outbox::send, pending);
    // The operations layer decides every request of the DPU, once, with the facts it resolves.
    return RelayHost.start(vertx, options, executor, (caller, method, params) ->
            AuthorizationDecision.allow("decided-by-operations"))
        .map(host -> {
          outbox.host = host;
          RelayLink link = new RelayLink(host, outbox, pending, events);
          host.linkStateHandler(state -> {
            LOG.info("relay link to {}: {}", relay.url(), state.status());
            link.status = state.status();
          });
          metrics.gauge("relay_link_up", "1 while the link to the DPU is up", () -> link.connected() ? 1 : 0);
          metrics.gauge("relay_outbox_unacked", "notifications the DPU has not acknowledged (stored or waiting to be)",
              host::unacknowledged);
          return link;
        });
  }

  /** Whether the link to the DPU is up now. */
  public boolean connected() {
    return status == LinkState.Status.CONNECTED;
  }

  public Future<Void> close() {
    forwarding.cancel();
    return host.close();
  }

  private static boolean forwarded(String type) {
    return type.equals(EventTypes.DEVICE_DETACHED) || LIFECYCLE.contains(type)
        || PublishedMigrationEvent.FORWARDED.contains(type);
  }

  private void forward(SidecarEvent e) {
    if (e.type().equals(EventTypes.DEVICE_DETACHED)) {
      String id = e.text("id");
      outbox.send(Notification.deviceDeleted(e.vm(), id, "/machine/peripheral/" + id));
      if (pending.complete(e.opId())) {
        outbox.send(Notification.opCompleted(e.opId(), Map.of("vm", e.vm(), "deviceId", id, "outcome", "detached")));
      }
    } else if (LIFECYCLE.contains(e.type())) {
      outbox.send(Notification.vmLifecycle(e.vm(), e.type().substring("qmp.".length())));
    } else {
      Map<String, Object> params = JSON.convertValue(e.data(), JSON.getTypeFactory()
          .constructMapType(LinkedHashMap.class, String.class, Object.class));
      // The event stream says who asked for the migration; the DPU never needed to know.
      params.remove("caller");
      outbox.send(new Notification(e.type(), params));
    }
  }
}
