package io.qmpsidecar.sidecar.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.api.ApiServer;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.migration.MigrationEvent;
import io.qmpsidecar.sidecar.migration.RelayNotifications;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.proxy.QmpProxyOptions;
import io.qmpsidecar.sidecar.proxy.QmpProxyServer;
import io.qmpsidecar.sidecar.state.StateStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running daemon: the VMs' QMP connections, the policy engine, the operations layer,
 * coordinated migrations, the event stream, the API, the DPU link and a QMP proxy socket per VM. {@link #start} and {@link #stop} are
 * called from a plain thread, never from an event loop.
 */
public final class Sidecar {
  private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);
  private static final Logger AUDIT = LoggerFactory.getLogger("io.qmpsidecar.audit");
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * QMP events waiting for the event stream, across all VMs. Each VM gets its share when it
   * connects, between {@link #VM_EVENT_BACKLOG_MIN} and {@link #VM_EVENT_BACKLOG_MAX}: events
   * that arrive together after the event loop stalled (a collection pause) fit, and a host with
   * many VMs keeps a bounded heap. Beyond it they are dropped and reported as
   * {@code qmp.events-dropped}.
   */
  static final int EVENT_BACKLOG_BUDGET = 131_072;
  static final int VM_EVENT_BACKLOG_MIN = 64;
  static final int VM_EVENT_BACKLOG_MAX = 4096;

  /** The event backlog of each VM when {@code vms} VMs are configured or discovered. */
  static int vmEventBacklog(int vms) {
    return Math.max(VM_EVENT_BACKLOG_MIN, Math.min(VM_EVENT_BACKLOG_MAX, EVENT_BACKLOG_BUDGET / Math.max(1, vms)));
  }

  /** QEMU event names whose {@code qmp.NAME} type is kept (QEMU 10.0's x86 schema has 55 events). */
  private static final int EVENT_TYPES = 1024;
  private final Map<String, String> eventTypes = new ConcurrentHashMap<>();
  private volatile SidecarConfig config;
  private final Vertx vertx;
  private final SidecarMetrics metrics = new SidecarMetrics();
  private final PolicyEngine policy;
  private final EventStream events;
  private final VmRegistry vms;
  private final Map<String, QmpProxyServer> proxies = new ConcurrentHashMap<>();
  private volatile Operations operations;
  private volatile RelayLink relay;
  private volatile Migrations migrations;
  private StateStore store;
  private ApiServer api;

  /** @throws io.qmpsidecar.policy.PolicyLoadException when the policy file is invalid */
  public Sidecar(SidecarConfig config) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    this.policy = new PolicyEngine(loadPolicy(config.policy()), record -> AUDIT.info("{}", record), Clock.systemUTC());
    this.events = new EventStream(vertx, Clock.systemUTC(), EventStream.DEFAULT_LOG_CAPACITY);
    this.vms = new VmRegistry(vertx, config.vms(), config.timeouts().command(), this::onConnection, this::onFirstReady);
    OperationLog.start(events);
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

  public Operations operations() {
    return operations;
  }

  public PolicyEngine policy() {
    return policy;
  }

  /**
   * Opens the state store, starts the operations layer and the API, then connects to the VMs
   * (each VM's proxy socket opens once its QEMU is connected). Waits at most {@code timeout}.
   */
  public void start(Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    Path stateDir = config.stateDir();
    store = await(vertx.executeBlocking(() -> Files.createDirectories(stateDir))
        .recover(e -> Future.failedFuture(new IllegalStateException("cannot create the state directory "
            + stateDir + ": " + e + "; create it or set stateDir", e)))
        .compose(dir -> StateStore.open(vertx, dir.resolve(StateStore.FILE_NAME))), timeout);
    Path proxyDir = config.proxyDir();
    await(vertx.executeBlocking(() -> Files.createDirectories(proxyDir,
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")))), timeout);
    SysfsHostPrep hostPrep = new SysfsHostPrep(vertx, config.host().sysfsRoot(), config.host().devRoot(), SysfsWriter.DIRECT);
    HotplugOptions hotplug = HotplugOptions.defaults();
    hotplug = new HotplugOptions(config.timeouts().command(), config.timeouts().attach(), config.timeouts().detach(),
        hotplug.pendingWatch(), hotplug.unplugRetryWindow(), hotplug.unplugRetries());
    operations = new Operations(vertx, policy, store, events, hostPrep, hotplug, Operations.DEFAULT_MAX_QUEUED_PER_VM);
    Migrations migrations = new Migrations(vertx, vms, operations, events, policy, this::onMigrationEvent);
    this.migrations = migrations;
    api = new ApiServer(vertx, config.api(),
        new ApiServer.Services(vms, policy, events, operations, migrations, metrics, this::notReady));
    await(api.start(), timeout);
    relay = await(RelayLink.start(vertx, config, operations, vms, events, policy), timeout);
    metrics.gauge("relay_link_up", "1 while the link to the DPU is up (0 also when no relay is configured)",
        () -> relay != null && relay.connected() ? 1 : 0);
    metrics.gauge("relay_outbox_unacked", "notifications the DPU has not acknowledged (stored or waiting to be)",
        () -> relay == null ? 0 : relay.unacknowledged());
    metrics.gauge("hotplug_pending_unplugs", "removals requested and not yet confirmed by QEMU",
        operations::pendingDetaches);
    vms.start(config.vmSocketDir());
    LOG.info("qmp-sidecar ready in {} ms: {} VM(s), policy {}, transport {}",
        Duration.ofNanos(System.nanoTime() - t0).toMillis(), config.vms().size(), policy.policy().source(),
        vertx.isNativeTransportEnabled() ? "epoll" : "JDK NIO");
  }

  /**
   * Applies a re-read configuration atomically: its policy is loaded first and, only when that
   * works, replaces the policy in force, and the VMs it adds are connected; nothing changes when
   * the policy is invalid. Keys that need a restart are named in the returned list.
   *
   * @throws io.qmpsidecar.policy.PolicyLoadException when the new policy is invalid (the old
   *     one stays in force)
   */
  public List<String> reload(SidecarConfig next) {
    Policy loaded = loadPolicy(next.policy());
    List<String> restart = new ArrayList<>();
    SidecarConfig now = config;
    Map<String, Boolean> changed = Map.of("api", !next.api().equals(now.api()), "relay", !next.relay().equals(now.relay()),
        "stateDir", !next.stateDir().equals(now.stateDir()), "proxy.dir", !next.proxyDir().equals(now.proxyDir()),
        "host", !next.host().equals(now.host()), "timeouts", !next.timeouts().equals(now.timeouts()),
        "vmSocketDir", !java.util.Objects.equals(next.vmSocketDir(), now.vmSocketDir()));
    changed.forEach((key, differs) -> {
      if (differs) {
        restart.add(key);
      }
    });
    policy.replace(loaded);
    next.vms().forEach(vms::add);
    config = next;
    LOG.info("configuration reloaded: policy {}, {} VM(s){}", loaded.source(), vms.all().size(),
        restart.isEmpty() ? "" : "; these keys changed and take effect at the next start: " + restart);
    return List.copyOf(restart);
  }

  /**
   * Stops taking requests, closes the proxies, the QMP connections, the store and Vert.x, each
   * step within {@code timeouts.shutdown}; pending removals stay stored for the next start.
   */
  public void stop() {
    Duration bound = config.timeouts().shutdown();
    try {
      if (api != null) {
        await(api.close(), bound);
      }
      if (relay != null) {
        await(relay.close(), bound);
      }
      await(Future.join(proxies.values().stream().map(QmpProxyServer::close).toList()), bound);
      if (operations != null) {
        operations.close();
      }
      await(vms.close(), bound);
      if (store != null) {
        await(store.close(), bound);
      }
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

  /**
   * Migration steps go to the event stream, with the run's operation id and caller, and, through
   * the durable outbox, to the DPU.
   */
  private void onMigrationEvent(MigrationEvent event) {
    Notification n = RelayNotifications.of(event);
    ObjectNode data = JSON.valueToTree(n.params());
    Optional<Migrations.Operation> op = Optional.ofNullable(migrations).flatMap(m -> m.operation(event.vm()));
    op.ifPresent(o -> data.put("caller", o.caller()));
    events.publish(event.vm(), n.method(), op.map(Migrations.Operation::opId).orElse(null), data);
    RelayLink link = relay;
    // STOP and RESUME already reach the DPU as vm.lifecycle from QEMU's own events.
    if (link != null && !(event instanceof MigrationEvent.RunState)) {
      link.notify(n);
    }
  }

  /** Once per VM: this connection lives on across reconnects. */
  private void onFirstReady(String vm, QmpConnection connection) {
    metrics.gauge("qmp_commands_in_flight", "QMP commands sent and not answered", vm, connection::inFlight);
    metrics.gauge("qmp_commands_queued", "QMP commands waiting for an in-flight slot", vm, connection::queued);
    metrics.gauge("migration_remaining_bytes", "RAM still to send by the VM's current or last coordinated migration"
        + " (-1: none or unknown)", vm, () -> migrationRemaining(vm));
    Migrations m = migrations;
    if (m != null) {
      m.adoptIfRunning(vm, connection);
    }
    operations.addVm(vm, connection)
        .onSuccess(report -> LOG.info("VM {}: reconciled: {}", vm, report))
        .onFailure(e -> LOG.warn("VM {}: first reconcile failed: {}", vm, e.getMessage()));
    QmpProxyServer.start(vertx, connection, (caller, command, args) -> policy.decide(PolicyRequest.of(caller, command, args)), QmpProxyOptions.forVm(config.proxyDir(), vm, config.proxy()))
        .onSuccess(proxy -> {
          proxies.put(vm, proxy);
          proxy.onEventDropped(caller -> metrics.proxyEventDropped(vm, caller.id()));
          metrics.gauge("proxy_clients", "clients connected to the VM's QMP proxy socket", vm, () -> proxy.clients().size());
          LOG.info("VM {}: QMP proxy on {}", vm, proxy.socketPath());
        })
        .onFailure(e -> LOG.error("VM {}: no QMP proxy: {}", vm, e.getMessage()));
  }

  private void onConnection(String vm, QmpConnection connection) {
    connection.subscribe(EventFilter.all(), vmEventBacklog(vms.all().size()), new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent e) {
        metrics.qmpEvent(vm, e.name());
        events.publishQemu(vm, eventType(e.name()), e.data(), e.timestamp());
      }

      @Override
      public void onGap(EventGap gap) {
        events.publish(vm, gap == EventGap.RECONNECTED ? "qmp.reconnected" : "qmp.events-dropped", null,
            JsonNodeFactory.instance.objectNode().put("detail", gap == EventGap.RECONNECTED
                ? "QEMU's QMP connection was re-established; events in between were not seen"
                : "QMP events were dropped for this VM's event stream"));
      }
    });
  }

  /** {@code qmp.NAME}, made once per name QEMU uses (a bounded few), not once per event. */
  private String eventType(String name) {
    String type = eventTypes.get(name);
    if (type == null) {
      type = "qmp." + name;
      if (eventTypes.size() < EVENT_TYPES) {
        eventTypes.putIfAbsent(name, type);
      }
    }
    return type;
  }

  private long migrationRemaining(String vm) {
    Migrations m = migrations;
    return m == null ? -1 : m.run(vm).map(r -> r.migration().sourceRecord().progress().remainingBytes()).orElse(-1L);
  }

  private static <T> T await(Future<T> future, Duration timeout) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
