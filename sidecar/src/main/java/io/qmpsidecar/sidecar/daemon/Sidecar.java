package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.api.ApiServer;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running daemon: the VMs' QMP connections, the policy engine and the API. {@link #start}
 * and {@link #stop} are called from the main thread, never from an event loop.
 */
public final class Sidecar {
  private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);
  private static final Logger AUDIT = LoggerFactory.getLogger("io.qmpsidecar.audit");

  private final SidecarConfig config;
  private final Vertx vertx;
  private final SidecarMetrics metrics = new SidecarMetrics();
  private final PolicyEngine policy;
  private final VmRegistry vms;
  private final ApiServer api;
  private final EventStream events;

  public Sidecar(SidecarConfig config) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    this.policy = new PolicyEngine(loadPolicy(config.policy()), record -> AUDIT.info("{}", record), Clock.systemUTC());
    this.vms = new VmRegistry(vertx, config.vms(), config.timeouts().command(), this::onConnection);
    this.events = new EventStream(vertx, Clock.systemUTC(), EventStream.DEFAULT_LOG_CAPACITY);
    this.api = new ApiServer(vertx, config.api(), vms, policy, events, metrics, this::notReady);
  }

  static Policy loadPolicy(SidecarConfig.Policy p) {
    return p.file() != null ? Policies.load(p.file()) : Policies.preset(p.preset());
  }

  public Vertx vertx() {
    return vertx;
  }

  public ApiServer api() {
    return api;
  }

  public EventStream events() {
    return events;
  }

  public PolicyEngine policy() {
    return policy;
  }

  /** Starts serving; waits at most {@code timeout} for the API to listen. */
  public void start(Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    vms.start();
    await(api.start(), timeout);
    LOG.info("qmp-sidecar ready in {} ms: {} VM(s), policy {}, transport {}",
        Duration.ofNanos(System.nanoTime() - t0).toMillis(), config.vms().size(), policy.policy().source(),
        vertx.isNativeTransportEnabled() ? "epoll" : "JDK NIO");
  }

  /** Reloads the policy file, keeping the old policy when the new one is invalid. */
  public void reloadPolicy() {
    if (config.policy().file() == null) {
      LOG.info("policy reload: the policy is preset {}, nothing to reload", config.policy().preset());
      return;
    }
    try {
      policy.reload(config.policy().file());
      LOG.info("policy reloaded from {}", config.policy().file());
    } catch (RuntimeException e) {
      LOG.error("policy reload refused, the old policy stays in force: {}", e.getMessage());
    }
  }

  /** Stops listening, closes the QMP connections and Vert.x, each within the shutdown bound. */
  public void stop() {
    Duration bound = config.timeouts().shutdown();
    try {
      await(api.close(), bound);
      await(vms.close(), bound);
      await(vertx.close(), bound);
    } catch (Exception e) {
      LOG.warn("shutdown did not finish cleanly within {} ms: {}", bound.toMillis(), e.getMessage());
    }
  }

  private List<String> notReady() {
    List<String> problems = new ArrayList<>();
    for (VmHandle vm : vms.all()) {
      if (vm.state() != QmpState.READY) {
        problems.add("vm " + vm.name() + ": " + vm.state().name().toLowerCase() + " (" + vm.lastError() + ")");
      }
    }
    return problems;
  }

  private void onConnection(String vm, QmpConnection connection) {
    connection.subscribe(EventFilter.all(), new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent e) {
        metrics.qmpEvent(vm, e.name());
        ObjectNode data = e.data().isObject() ? ((ObjectNode) e.data()).deepCopy() : JsonNodeFactory.instance.objectNode();
        events.publish(vm, "qmp." + e.name(), null, data.put("qemuTimestamp", e.timestamp().toString()));
      }

      @Override
      public void onGap(EventGap gap) {
        events.publish(vm, gap == EventGap.RECONNECTED ? "qmp.reconnected" : "qmp.events-dropped", null,
            JsonNodeFactory.instance.objectNode().put("detail", gap == EventGap.RECONNECTED
                ? "QEMU's QMP connection was re-established; events in between were not seen"
                : "QMP events were dropped for this VM's event stream"));
      }
    });
    metrics.gauge("qmp_commands_in_flight", "QMP commands sent and not answered", vm, connection::inFlight);
    metrics.gauge("qmp_commands_queued", "QMP commands waiting for an in-flight slot", vm, connection::queued);
  }

  private static <T> T await(Future<T> future, Duration timeout) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
