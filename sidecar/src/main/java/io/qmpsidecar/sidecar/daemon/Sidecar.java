package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.ValueSets;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.api.ApiServer;
import io.qmpsidecar.sidecar.automation.Hooks;
import io.qmpsidecar.sidecar.automation.RuleRunner;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventEpoch;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.HelperSysfsWriter;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.qmpsidecar.sidecar.hotplug.HotplugOptions;
import io.qmpsidecar.sidecar.liveupdate.LiveUpdateOptions;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.Migrations;
import io.qmpsidecar.sidecar.ops.OperationLog;
import io.qmpsidecar.sidecar.ops.Operations;
import io.qmpsidecar.sidecar.ops.PolicyGate;
import io.qmpsidecar.sidecar.proxy.QmpProxyOptions;
import io.qmpsidecar.sidecar.proxy.QmpProxyServer;
import io.qmpsidecar.sidecar.relay.RelayLink;
import io.qmpsidecar.sidecar.state.DaemonLock;
import io.qmpsidecar.sidecar.state.SqliteNativeLibrary;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.VmHandle;
import io.qmpsidecar.sidecar.vm.VmRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running daemon, and only its wiring: {@link #start} builds every part complete (state
 * store, VM registry, policy gate, hooks, operations, migrations, API, DPU link, automation rules,
 * a QMP proxy socket per VM as its QEMU connects) and starts them; {@link #stop} closes them. Called from a plain
 * thread, never from an event loop.
 */
public final class Sidecar {
  private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);

  /** The JVM option that sets the number of event-loop threads (see {@link #eventLoops}). */
  static final String EVENT_LOOPS = "qmpsidecar.eventLoops";
  /** One request to the host-prep helper; its unit stops it after 10 s. */
  private static final Duration HOST_PREP_HELPER_TIMEOUT = Duration.ofSeconds(10);

  /** The configuration it started with: a reload applies only the policy and added VMs, the rest at the next start. */
  private final SidecarConfig started;
  /** The VMs a configuration listed since the start; each is served until the next start. */
  private final Set<String> listed = new HashSet<>();
  private final Vertx vertx;
  private final PolicyEngine policy;
  private final EventStream events;
  private final VmRegistry vms;
  private final StateStore store;
  private final Operations operations;
  private final ApiServer api;
  private final Optional<RelayLink> relay;
  private final Map<String, QmpProxyServer> proxies;
  private final RuleRunner rules;
  private final Hooks hooks;
  private final DaemonLock lock;
  private final SidecarMetrics metrics;
  private final AtomicBoolean stopped = new AtomicBoolean();

  private Sidecar(SidecarConfig config, Vertx vertx, PolicyEngine policy, EventStream events, VmRegistry vms,
      StateStore store, Operations operations, ApiServer api, Optional<RelayLink> relay,
      Map<String, QmpProxyServer> proxies, RuleRunner rules, Hooks hooks, DaemonLock lock,
      SidecarMetrics metrics) {
    this.started = config;
    config.vms().forEach(vm -> listed.add(vm.name()));
    this.vertx = vertx;
    this.policy = policy;
    this.events = events;
    this.vms = vms;
    this.store = store;
    this.operations = operations;
    this.api = api;
    this.relay = relay;
    this.proxies = proxies;
    this.rules = rules;
    this.hooks = hooks;
    this.lock = lock;
    this.metrics = metrics;
  }

  /**
   * Builds and starts the daemon: opens the state store, starts the operations layer, the API and
   * the DPU link, then connects to the VMs (each VM's proxy socket opens once its QEMU is
   * connected). Waits at most {@code timeout}; on failure, closes what it had started. The policy
   * is the one the configuration's validation compiled ({@link SidecarConfig.Policy#compiled()}).
   *
   * @throws SidecarException naming what could not start
   */
  public static Sidecar start(SidecarConfig config, Duration timeout) throws Exception {
    long t0 = System.nanoTime();
    SqliteNativeLibrary.useCopy();
    Policy loaded = config.policy().compiled();
    // No class-path file resolving: the daemon serves no files, and Vert.x would otherwise make a
    // cache directory in the temp directory at each start, which a killed daemon leaves behind.
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)
        .setEventLoopPoolSize(eventLoops(System.getProperty(EVENT_LOOPS)))
        .setFileSystemOptions(new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false)));
    // What a failed start closes again, newest first, each awaited: the lock goes only after the
    // store is closed, and the failure is reported once nothing of this start runs any more.
    List<Supplier<Future<?>>> undo = new ArrayList<>();
    undo.add(vertx::close);
    try {
      SidecarMetrics metrics = new SidecarMetrics();
      undo.add(0, done(metrics::close));
      // Off the start path: the JVM's management beans take tens of milliseconds to read the first time.
      vertx.executeBlocking(() -> {
        metrics.bindJvm();
        return null;
      }).onFailure(e -> LOG.warn("JVM metrics not available: {}", e.toString()));
      PolicyEngine policy = new PolicyEngine(loaded, ValueSets.of(config.policy().valueSets()),
          new AuditLog(), Clock.systemUTC());
      Path stateDir = await(directory(vertx, config.stateDir(), "the state directory", "stateDir"), timeout);
      await(directory(vertx, config.api().socket().toAbsolutePath().getParent(), "the API socket's directory",
          "api.socket"), timeout);
      DaemonLock lock = DaemonLock.acquire(stateDir, config.api().socket());
      undo.add(0, done(lock::close));
      EventStream events = new EventStream(vertx, Clock.systemUTC(), config.events().replay(),
          await(EventEpoch.open(vertx, stateDir, Clock.systemUTC()), timeout));
      OperationLog.start(events);
      StateStore store = await(StateStore.open(vertx, stateDir.resolve(StateStore.FILE_NAME)), timeout);
      undo.add(0, store::close);
      Path proxyDir = config.proxyDir();
      await(directory(vertx, proxyDir, "the proxy sockets' directory", "proxy.dir",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---"))), timeout);
      VmRegistry vms = new VmRegistry(vertx, config.vms(), config.timeouts().command(), events, metrics);
      undo.add(0, vms::close);
      PolicyGate gate = new PolicyGate(policy, metrics);
      HotplugOptions defaults = HotplugOptions.defaults();
      HotplugOptions hotplug = new HotplugOptions(config.timeouts().command(), config.timeouts().attach(),
          config.timeouts().detach(), defaults.pendingWatch(), defaults.unplugRetryWindow(), defaults.unplugRetries(),
          config.timeouts().release());
      SysfsWriter sysfs = config.host().prepHelper() == null ? SysfsWriter.DIRECT
          : new HelperSysfsWriter(config.host().prepHelper(), config.host().sysfsRoot(), HOST_PREP_HELPER_TIMEOUT);
      SysfsHostPrep hostPrep = new SysfsHostPrep(vertx, config.host().sysfsRoot(), config.host().devRoot(),
          sysfs, Set.copyOf(config.host().vfioDrivers()), config.host().iommufd());
      Hooks hooks = Hooks.create(vertx, config.automation().hooks(), events, metrics, config.api().socket());
      undo.add(0, hooks::close);
      Operations operations = new Operations(vertx, vms, gate, store, events, hostPrep, hotplug, metrics,
          Operations.DEFAULT_MAX_QUEUED_PER_VM, hooks.guard());
      undo.add(0, done(operations::close));
      Migrations migrations = new Migrations(vertx, vms, operations, events, gate, metrics, new LiveUpdateOptions(
          config.liveUpdate().launcher(), config.liveUpdate().binaries(), stateDir.resolve("live-update"), config.liveUpdate().timeout()));
      Map<String, QmpProxyServer> proxies = new ConcurrentHashMap<>();
      ApiServer api = new ApiServer(vertx, config.api(), new ApiServer.Services(operations, migrations, events, policy,
          metrics, () -> notReady(vms, proxies)));
      await(api.start(), timeout);
      undo.add(0, api::close);
      Optional<RelayLink> relay = config.relay().enabled()
          ? Optional.of(await(RelayLink.start(vertx, config, operations, events, metrics), timeout))
          : Optional.empty();
      relay.ifPresent(r -> undo.add(0, r::close));
      RuleRunner rules = await(RuleRunner.start(vertx, policy, operations, events, metrics,
          config.automation().maxActionsPerSecond()), timeout);
      undo.add(0, done(rules::close));
      hooks.start();
      Sidecar sidecar = new Sidecar(config, vertx, policy, events, vms, store, operations, api, relay, proxies, rules,
          hooks, lock, metrics);
      vms.start(config.vmSocketDir(), (vm, connection) -> {
        migrations.connected(vm, connection);
        operations.connected(vm, connection)
            .onSuccess(report -> LOG.info("VM {}: reconciled: {}", vm, report))
            .onFailure(e -> LOG.warn("VM {}: first reconcile failed: {}", vm, e.getMessage()));
        sidecar.openProxy(vm, connection, metrics);
      });
      // libvirt VMs get no QMP proxy: their monitor is libvirt's (docs/libvirt.md).
      vms.startLibvirt(config.libvirt(), domain -> operations.connected(domain)
          .onSuccess(report -> LOG.info("VM {}: reconciled with libvirt's live XML: {}", domain.vm(), report))
          .onFailure(e -> LOG.warn("VM {}: first reconcile failed: {}", domain.vm(), e.getMessage())));
      LOG.info("qmp-sidecar ready in {} ms: {} VM(s), policy {}, transport {}",
          Duration.ofNanos(System.nanoTime() - t0).toMillis(), config.vms().size(), loaded.source(),
          vertx.isNativeTransportEnabled() ? "epoll" : "JDK NIO");
      return sidecar;
    } catch (Exception | Error e) {
      for (Supplier<Future<?>> step : undo) {
        try {
          await(step.get(), timeout);
        } catch (Exception | Error closing) {
          LOG.debug("closing after a failed start: {}", closing.toString());
        }
      }
      throw e;
    }
  }

  /** A close that is done when it returns, as a step of a failed start's undo. */
  private static Supplier<Future<?>> done(Runnable close) {
    return () -> {
      close.run();
      return Future.succeededFuture();
    };
  }

  /**
   * The event-loop threads: the JVM option {@code -Dqmpsidecar.eventLoops=N} ({@code bin/jvm/small}
   * sets 1: a sidecar for one VM then serves its monitor, API, proxy and relay on one thread, and an
   * event reaches a subscriber without waking another), else Vert.x's default, two per core.
   *
   * @throws IllegalArgumentException when the option is not a positive integer
   */
  static int eventLoops(String option) {
    if (option == null) {
      return VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE;
    }
    try {
      int n = Integer.parseInt(option.strip());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below with the value as given.
    }
    throw new IllegalArgumentException("-D" + EVENT_LOOPS + "=" + option + " is not a positive number of"
        + " event-loop threads; fix it in the JVM options (bin/jvm/ or JAVA_OPTS)");
  }

  /** Creates {@code dir} when missing, off the event loop; fails naming it and the key that sets it. */
  private static Future<Path> directory(Vertx vertx, Path dir, String what, String key, FileAttribute<?>... attrs) {
    return vertx.executeBlocking(() -> Files.createDirectories(dir, attrs)).recover(e -> Future.failedFuture(
        new IllegalStateException("cannot create " + what + " " + dir + "; create it or set " + key, e)));
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
   * Applies a re-read configuration, which the configuration's one validator accepted (an invalid
   * one, its policy included, never gets here: {@link io.qmpsidecar.sidecar.config.ConfigLoader}
   * refuses it and the old one stays in force): its compiled policy replaces the one in force and
   * the VMs it adds are connected. Keys that need a restart are named in the returned list, and so
   * are VMs it no longer lists: they are served until the next start.
   */
  public synchronized List<String> reload(SidecarConfig next) {
    Policy loaded = next.policy().compiled();
    List<String> restart = new ArrayList<>();
    Map<String, Boolean> changed = new LinkedHashMap<>();
    changed.put("api", !next.api().equals(started.api()));
    changed.put("relay", !next.relay().equals(started.relay()));
    changed.put("stateDir", !next.stateDir().equals(started.stateDir()));
    changed.put("proxy.dir", !next.proxyDir().equals(started.proxyDir()));
    changed.put("proxy", !next.proxy().equals(started.proxy()));
    changed.put("host", !next.host().equals(started.host()));
    changed.put("timeouts", !next.timeouts().equals(started.timeouts()));
    changed.put("vmSocketDir", !Objects.equals(next.vmSocketDir(), started.vmSocketDir()));
    changed.put("libvirt", !next.libvirt().equals(started.libvirt()));
    changed.put("events", !next.events().equals(started.events()));
    changed.put("automation", next.automation().maxActionsPerSecond() != started.automation().maxActionsPerSecond());
    changed.put("hooks", !next.automation().hooks().equals(started.automation().hooks()));
    changed.put("liveUpdate", !next.liveUpdate().equals(started.liveUpdate()));
    changed.put("log", !next.log().equals(started.log()));
    changed.forEach((key, differs) -> {
      if (differs) {
        restart.add(key);
      }
    });
    Set<String> kept = next.vms().stream().map(SidecarConfig.Vm::name).collect(java.util.stream.Collectors.toSet());
    List<String> removed = listed.stream().filter(n -> !kept.contains(n)).sorted().toList();
    if (!removed.isEmpty()) {
      // A served VM may have operations queued, removals watched and proxy clients connected:
      // it is not dropped while the daemon runs.
      restart.add("vms (removed " + String.join(", ", removed) + ": served until the next start)");
    }
    policy.replace(loaded, ValueSets.of(next.policy().valueSets()));
    next.vms().forEach(vms::add);
    listed.addAll(kept);
    if (restart.isEmpty()) {
      LOG.info("configuration reloaded: policy {}, {} VM(s)", loaded.source(), vms.all().size());
    } else {
      LOG.warn("configuration reloaded: policy {}, {} VM(s); these keys changed and take effect at the next start: {}",
          loaded.source(), vms.all().size(), restart);
    }
    return List.copyOf(restart);
  }

  /**
   * Stops taking requests, closes the proxies, the QMP connections, the store and Vert.x, each
   * step within {@code timeouts.shutdown}; pending removals stay stored for the next start. A
   * second call does nothing.
   */
  public void stop() {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    Duration bound = started.timeouts().shutdown();
    try {
      await(api.close(), bound);
      if (relay.isPresent()) {
        await(relay.get().close(), bound);
      }
      await(Future.join(proxies.values().stream().map(QmpProxyServer::close).toList()), bound);
      rules.close();
      await(hooks.close(), bound);
      operations.close();
      await(vms.close(), bound);
      await(store.close(), bound);
      await(vertx.close(), bound);
    } catch (Exception e) {
      LOG.warn("shutdown did not finish cleanly within {} ms: {}", bound.toMillis(), e.getMessage());
    } finally {
      metrics.close();
      lock.close();
    }
  }

  private void openProxy(String vm, QmpConnection connection, SidecarMetrics metrics) {
    QmpProxyServer.start(vertx, connection, (caller, command, args) -> operations.decidePassthrough(vm, caller, command,
            args), QmpProxyOptions.forVm(started.proxyDir(), vm, started.proxy()))
        .onSuccess(proxy -> {
          proxies.put(vm, proxy);
          proxy.onEventDropped(caller -> metrics.proxyEventDropped(vm, caller.id()));
          metrics.gauge("qmp_sidecar_proxy_clients", "clients connected to the VM's QMP proxy socket", vm,
              () -> proxy.clients().size());
          LOG.info("VM {}: QMP proxy on {}", vm, proxy.socketPath());
        })
        .onFailure(e -> LOG.error("VM {}: no QMP proxy: {}", vm, e.getMessage()));
  }

  /**
   * Why the sidecar is not ready (what {@code /readyz} answers 503 with): a VM not connected, not
   * answering, whose run state is not read yet, or without its proxy socket (libvirt's have
   * neither); empty when it is.
   */
  public List<String> notReady() {
    return notReady(vms, proxies);
  }

  private static List<String> notReady(VmRegistry vms, Map<String, QmpProxyServer> proxies) {
    List<String> problems = new ArrayList<>();
    for (VmHandle vm : vms.all()) {
      if (vm.state() != QmpState.READY) {
        problems.add("vm " + vm.name() + ": " + vm.state().name().toLowerCase() + " (" + vm.lastError() + ")");
      } else if (vm.unresponsive().isPresent()) {
        problems.add("vm " + vm.name() + ": " + vm.unresponsive().get());
      } else if (vm.libvirt() == null && vm.runState().isEmpty()) {
        problems.add("vm " + vm.name() + ": its run state is not read yet (query-status)");
      } else if (vm.libvirt() == null && !proxies.containsKey(vm.name())) {
        problems.add("vm " + vm.name() + ": its QMP proxy socket is not open yet");
      }
    }
    return problems;
  }

  private static <T> T await(Future<T> future, Duration timeout) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
