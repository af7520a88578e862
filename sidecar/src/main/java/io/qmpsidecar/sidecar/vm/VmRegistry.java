package io.qmpsidecar.sidecar.daemon;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs this sidecar serves, by name: those listed in its configuration, and every
 * {@code NAME.qmp} socket in {@code vmSocketDir}, which is rescanned every
 * {@link #SCAN_INTERVAL} so that a new VM's socket is picked up. Names come only from the
 * configuration and the directory, never from a request; a VM once known stays known.
 */
public final class VmRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(VmRegistry.class);
  static final Duration SCAN_INTERVAL = Duration.ofSeconds(2);
  /** A bound on VMs discovered in the directory, against a directory filled by mistake. */
  static final int MAX_VMS = 4096;

  private final Vertx vertx;
  private final Duration commandTimeout;
  private final BiConsumer<String, QmpConnection> onConnection;
  private final BiConsumer<String, QmpConnection> onFirstReady;
  private final Map<String, VmHandle> vms = new ConcurrentSkipListMap<>();
  private long scanTimer = -1;
  private volatile boolean started;

  /**
   * @param onConnection called with each VM's connection before it opens (to subscribe to its
   *     events from the first one on)
   * @param onFirstReady called once per VM when its connection is first ready (it reconnects by
   *     itself afterwards)
   */
  public VmRegistry(Vertx vertx, List<SidecarConfig.Vm> configured, Duration commandTimeout,
      BiConsumer<String, QmpConnection> onConnection, BiConsumer<String, QmpConnection> onFirstReady) {
    this.vertx = vertx;
    this.commandTimeout = commandTimeout;
    this.onConnection = onConnection;
    this.onFirstReady = onFirstReady;
    configured.forEach(vm -> add(vm.name(), vm.qmp()));
  }

  /** Connects to every VM; with {@code socketDir}, scans it now and every {@link #SCAN_INTERVAL}. */
  public void start(Path socketDir) {
    started = true;
    vms.values().forEach(VmHandle::start);
    if (socketDir != null) {
      scan(socketDir);
      scanTimer = vertx.setPeriodic(SCAN_INTERVAL.toMillis(), t -> scan(socketDir));
    }
  }

  /** Adds a VM that a reloaded configuration names; connects at once when already started. */
  public void add(SidecarConfig.Vm vm) {
    if (!vms.containsKey(vm.name())) {
      VmHandle handle = add(vm.name(), vm.qmp());
      if (started) {
        handle.start();
      }
    }
  }

  /** @throws VmNotFoundException naming the known VMs */
  public VmHandle get(String name) {
    VmHandle vm = vms.get(name);
    if (vm == null) {
      throw new VmNotFoundException(name, vms.keySet());
    }
    return vm;
  }

  public Collection<VmHandle> all() {
    return vms.values();
  }

  public Future<Void> close() {
    vertx.cancelTimer(scanTimer);
    return Future.join(vms.values().stream().map(VmHandle::close).toList()).mapEmpty();
  }

  private void scan(Path dir) {
    vertx.executeBlocking(() -> {
      try (Stream<Path> files = Files.list(dir)) {
        return files.filter(p -> p.getFileName().toString().endsWith(".qmp") && !Files.isRegularFile(p)).toList();
      }
    }).onSuccess(sockets -> sockets.forEach(socket -> {
      String file = socket.getFileName().toString();
      String name = file.substring(0, file.length() - ".qmp".length());
      if (!vms.containsKey(name) && SidecarConfig.isValidVmName(name)) {
        if (vms.size() >= MAX_VMS) {
          LOG.error("vmSocketDir {}: more than {} VMs; {} is not served", dir, MAX_VMS, socket);
          return;
        }
        LOG.info("vmSocketDir: new VM {} at {}", name, socket);
        add(name, QmpAddress.unix(socket)).start();
      }
    })).onFailure(e -> LOG.warn("vmSocketDir {} cannot be read: {}; fix its permissions or path", dir, e.getMessage()));
  }

  private VmHandle add(String name, QmpAddress address) {
    VmHandle handle = new VmHandle(vertx, name, address, commandTimeout,
        c -> onConnection.accept(name, c), c -> onFirstReady.accept(name, c));
    VmHandle existing = vms.putIfAbsent(name, handle);
    return existing != null ? existing : handle;
  }
}
