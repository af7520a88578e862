package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.LinkState;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpResult;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayTls;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.ops.Operations;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's end of the DPU link: dials the configured DPU endpoint, runs its requests
 * through the operations layer after the policy check as caller {@code dpu}, and forwards what
 * the DPU must know ({@code device.deleted}, VM lifecycle, operation outcomes, migration steps)
 * through the relay's durable outbox.
 */
final class RelayLink {
  private static final Logger LOG = LoggerFactory.getLogger(RelayLink.class);
  /** In-process backlog towards the outbox; the outbox itself is durable and far larger. */
  static final int FORWARD_QUEUE = 65_536;
  private static final Set<String> LIFECYCLE = Set.of("qmp.STOP", "qmp.RESUME", "qmp.SHUTDOWN", "qmp.RESET",
      "qmp.POWERDOWN");

  private final RelayHost host;
  private final EventSubscription forwarding;
  private volatile LinkState.Status status = LinkState.Status.CONNECTING;

  private RelayLink(RelayHost host, EventSubscription forwarding) {
    this.host = host;
    this.forwarding = forwarding;
  }

  /** Starts the link when {@code relay.url} is configured; completes with null otherwise. */
  static Future<RelayLink> start(Vertx vertx, SidecarConfig config, Operations operations, VmRegistry vms,
      EventStream events, PolicyEngine policy) {
    SidecarConfig.Relay relay = config.relay();
    if (!relay.enabled()) {
      return Future.succeededFuture();
    }
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
    PendingRelayOps pending = new PendingRelayOps();
    RelayHost[] started = new RelayHost[1];
    RelayExecutor executor = new RelayExecutor(operations, vms, n -> send(started[0], n), pending);
    return RelayHost.start(vertx, options, executor, (caller, method, params) -> authorize(policy, method, params))
        .map(h -> {
          started[0] = h;
          RelayLink[] link = new RelayLink[1];
          h.linkStateHandler(state -> {
            LOG.info("relay link to {}: {}", relay.url(), state.status());
            link[0].status = state.status();
          });
          EventSubscription sub = events.subscribe(e -> e.type().equals(EventTypes.DEVICE_DETACHED)
              || LIFECYCLE.contains(e.type()), FORWARD_QUEUE, new EventListener() {
                @Override
                public void onEvent(SidecarEvent e) {
                  forward(h, pending, e);
                }

                @Override
                public void onDropped(long count) {
                  LOG.error("relay: {} events were not forwarded to the DPU (the outbox fell {} behind);"
                      + " the DPU should ask for state.snapshot", count, FORWARD_QUEUE);
                }
              });
          link[0] = new RelayLink(h, sub);
          return link[0];
        });
  }

  /** Whether the link to the DPU is up now. */
  boolean connected() {
    return status == LinkState.Status.CONNECTED;
  }

  /** Notifications the DPU has not acknowledged yet. */
  long unacknowledged() {
    return host.unacknowledged();
  }

  /** What the migration layer tells the DPU. */
  void notify(Notification n) {
    send(host, n);
  }

  Future<Void> close() {
    forwarding.cancel();
    return host.close();
  }

  private static void send(RelayHost host, Notification n) {
    host.notify(n).onFailure(e -> LOG.error("relay: notification {} not stored: {}", n.method(), e.getMessage()));
  }

  private static void forward(RelayHost host, PendingRelayOps pending, SidecarEvent e) {
    if (e.type().equals(EventTypes.DEVICE_DETACHED)) {
      String id = e.text("id");
      send(host, Notification.deviceDeleted(e.vm(), id, "/machine/peripheral/" + id));
      if (pending.complete(e.opId())) {
        send(host, Notification.opCompleted(e.opId(), OpResult.detached(e.vm(), id)));
      }
    } else {
      send(host, Notification.vmLifecycle(e.vm(), e.type().substring("qmp.".length())));
    }
  }

  /**
   * The relay's methods as the QMP commands they stand for, so that one policy decides for the
   * DPU whatever the entry point. {@code device.attach} is decided by the operations layer, which
   * first resolves the function's sysfs facts (PF, ids, IOMMU group) that the DPU rules need; a
   * denial then arrives as {@code op.failed} with POLICY_DENIED, before anything changes.
   */
  private static AuthorizationDecision authorize(PolicyEngine policy, String method, Map<String, Object> params) {
    ObjectNode args = JsonNodeFactory.instance.objectNode();
    String command = switch (method) {
      case RelayMethods.DEVICE_ATTACH -> null;
      case RelayMethods.DEVICE_DETACH -> {
        args.put("id", String.valueOf(params.get("deviceId")));
        yield "device_del";
      }
      case RelayMethods.DEVICE_LIST -> "query-pci";
      case RelayMethods.VM_LIST, RelayMethods.STATE_SNAPSHOT -> "query-status";
      default -> "relay:" + method;
    };
    if (command == null) {
      return AuthorizationDecision.allow("checked-with-sysfs-facts");
    }
    Decision d = policy.decide(PolicyRequest.of(Caller.dpu(), command, args));
    return d.allowed() ? AuthorizationDecision.allow(d.ruleId()) : AuthorizationDecision.deny(d.ruleId(), d.reason());
  }
}
