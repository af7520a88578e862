package io.qmpsidecar.sidecar.vm;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainRef;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.EventGap;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.QmpEventListener;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs this sidecar serves, by name, each reached over its QMP monitor: those listed in its
 * configuration, and every {@code NAME.qmp} socket in {@code vmSocketDir}, which is rescanned
 * every {@link #SCAN_INTERVAL} so that a new VM's socket is picked up. Names come only from the
 * configuration and the directory, never from a request; a VM once known stays known. Every QEMU
 * event of every VM is published on the event stream as {@code qmp.NAME}, from its first
 * connection on.
 */
public final class VmRegistry {
  /** QEMU's events that come with a change of its run state. */
  private static final Set<String> RUN_STATE_EVENTS = Set.of("STOP", "RESUME", "SHUTDOWN", "RESET", "SUSPEND",
      "SUSPEND_DISK", "WAKEUP", "GUEST_PANICKED", "GUEST_CRASHLOADED", "POWERDOWN", "MIGRATION", "WATCHDOG",
      "BLOCK_IO_ERROR");

  private static final Logger LOG = LoggerFactory.getLogger(VmRegistry.class);
  /** The type under which a QEMU that a live update replaces publishes its last events. */
  public static final String OLD_QEMU_EVENT = "liveupdate.old-qemu-event";
  static final Duration SCAN_INTERVAL = Duration.ofSeconds(2);
  /** A bound on VMs discovered in the directory, against a directory filled by mistake. */
  static final int MAX_VMS = 4096;
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
  /** QEMU event names whose {@code qmp.NAME} type is kept (QEMU 10.0's x86 schema has 55 events). */
  private static final int EVENT_TYPES = 1024;

  /** Told once per VM when its QEMU is first connected (the connection reconnects by itself afterwards). */
  @FunctionalInterface
  public interface FirstReady {
    void connected(String vm, QmpConnection connection);
  }

  private final Vertx vertx;
  private final Duration commandTimeout;
  private final EventStream events;
  private final SidecarMetrics metrics;
  private final Map<String, VmHandle> vms = new ConcurrentSkipListMap<>();
  private final Map<String, String> eventTypes = new ConcurrentHashMap<>();
  private final LibvirtHosts libvirtHosts;
  private long scanTimer = -1;
  private long libvirtScanTimer = -1;
  private volatile FirstReady firstReady;
  private volatile Consumer<LibvirtDomain> libvirtReady;

  public VmRegistry(Vertx vertx, List<SidecarConfig.Vm> configured, Duration commandTimeout, EventStream events,
      SidecarMetrics metrics) {
    this.vertx = vertx;
    this.commandTimeout = commandTimeout;
    this.events = events;
    this.metrics = metrics;
    this.libvirtHosts = new LibvirtHosts(vertx, commandTimeout);
    configured.forEach(vm -> {
      if (vm.libvirt() != null) {
        addLibvirt(vm.name(), vm.libvirt());
      } else {
        add(vm.name(), vm.qmp());
      }
    });
  }

  /** The event backlog of each VM when {@code vms} VMs are configured or discovered. */
  static int vmEventBacklog(int vms) {
    return Math.max(VM_EVENT_BACKLOG_MIN, Math.min(VM_EVENT_BACKLOG_MAX, EVENT_BACKLOG_BUDGET / Math.max(1, vms)));
  }

  /**
   * Connects to every VM; with {@code socketDir}, scans it now and every {@link #SCAN_INTERVAL}.
   *
   * @param firstReady told once per VM when its QEMU is first connected
   */
  public void start(Path socketDir, FirstReady firstReady) {
    this.firstReady = firstReady;
    vms.values().stream().filter(v -> v.libvirt() == null).forEach(VmHandle::start);
    if (socketDir != null) {
      scan(socketDir);
      scanTimer = vertx.setPeriodic(SCAN_INTERVAL.toMillis(), t -> scan(socketDir));
    }
  }

  /**
   * Starts the VMs managed by libvirt: each is looked up on its URI (again every
   * {@link LibvirtDomain#LOOKUP_INTERVAL} until found); with {@code discovery} enabled, every
   * running domain of its URI (with its metadata element, when named) becomes a VM named after
   * the domain, checked every {@link #LIBVIRT_SCAN_INTERVAL}.
   *
   * @param ready told once per VM when its domain is first found
   */
  public void startLibvirt(SidecarConfig.LibvirtDiscovery discovery, Consumer<LibvirtDomain> ready) {
    this.libvirtReady = ready;
    vms.values().stream().filter(v -> v.libvirt() != null).forEach(v -> v.start(ready));
    if (discovery != null && discovery.enabled()) {
      discover(discovery);
      libvirtScanTimer = vertx.setPeriodic(LIBVIRT_SCAN_INTERVAL.toMillis(), t -> discover(discovery));
    }
  }

  /** How often a discovery URI is asked for its running domains. */
  static final Duration LIBVIRT_SCAN_INTERVAL = Duration.ofSeconds(5);

  /** Adds a VM that a reloaded configuration names; connects at once when already started. */
  public void add(SidecarConfig.Vm vm) {
    if (vm.libvirt() != null) {
      if (!vms.containsKey(vm.name())) {
        VmHandle handle = addLibvirt(vm.name(), vm.libvirt());
        if (libvirtReady != null) {
          handle.start(libvirtReady);
        }
      }
      return;
    }
    if (!vms.containsKey(vm.name())) {
      VmHandle handle = add(vm.name(), vm.qmp());
      if (firstReady != null) {
        handle.start();
      }
    }
  }

  /**
   * @throws SidecarException {@link Kind#NOT_FOUND} ({@code vm-not-found}) naming the known VMs
   */
  public VmHandle get(String name) {
    VmHandle vm = name == null ? null : vms.get(name);
    if (vm == null) {
      throw SidecarException.of(Kind.NOT_FOUND, "vm-not-found", "no VM named '" + name + "' is configured here")
          .vm(name).detail("vm", name).fix("configured VMs: " + vms.keySet()
              + " (VMs come from the sidecar's configuration, see docs/configuration.md)").build();
    }
    return vm;
  }

  public Collection<VmHandle> all() {
    return vms.values();
  }

  public Future<Void> close() {
    vertx.cancelTimer(scanTimer);
    vertx.cancelTimer(libvirtScanTimer);
    return Future.join(vms.values().stream().map(VmHandle::close).toList())
        .compose(v -> libvirtHosts.close()).mapEmpty();
  }

  private void discover(SidecarConfig.LibvirtDiscovery discovery) {
    libvirtHosts.client(discovery.uri())
        .compose(c -> Future.fromCompletionStage(c.runningDomains(), vertx.getOrCreateContext()).map(domains -> {
          for (DomainRef d : domains) {
            if (vms.containsKey(d.name()) || !SidecarConfig.isValidVmName(d.name())) {
              continue;
            }
            if (vms.size() >= MAX_VMS) {
              LOG.error("libvirt {}: more than {} VMs; domain {} is not served", discovery.uri(), MAX_VMS, d.name());
              return null;
            }
            if (discovery.metadata() == null) {
              adopt(discovery, d);
            } else {
              Future.fromCompletionStage(c.liveXml(d), vertx.getOrCreateContext())
                  .onSuccess(xml -> {
                    if (hasMetadata(xml, discovery.metadata())) {
                      adopt(discovery, d);
                    }
                  });
            }
          }
          return null;
        }))
        .onFailure(e -> LOG.debug("libvirt discovery on {}: {}", discovery.uri(), e.getMessage()));
  }

  private void adopt(SidecarConfig.LibvirtDiscovery discovery, DomainRef d) {
    if (vms.containsKey(d.name())) {
      return;
    }
    LOG.info("libvirt {}: new VM {} (domain {})", discovery.uri(), d.name(), d.uuid());
    VmHandle handle = addLibvirt(d.name(), new SidecarConfig.Libvirt(discovery.uri(), d.name(), false, false));
    handle.start(libvirtReady);
  }

  /** Whether the domain's {@code <metadata>} has an element in namespace {@code ns}. */
  static boolean hasMetadata(String xml, String ns) {
    try {
      javax.xml.parsers.DocumentBuilderFactory f = javax.xml.parsers.DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature(javax.xml.XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      org.w3c.dom.Document doc = f.newDocumentBuilder().parse(new org.xml.sax.InputSource(new java.io.StringReader(xml)));
      org.w3c.dom.NodeList metadata = doc.getDocumentElement().getElementsByTagName("metadata");
      for (int i = 0; i < metadata.getLength(); i++) {
        for (org.w3c.dom.Node n = metadata.item(i).getFirstChild(); n != null; n = n.getNextSibling()) {
          if (n instanceof org.w3c.dom.Element e && ns.equals(e.getNamespaceURI())) {
            return true;
          }
        }
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  private VmHandle addLibvirt(String name, SidecarConfig.Libvirt config) {
    VmHandle handle = new VmHandle(vertx, new LibvirtDomain(vertx, name, config, libvirtHosts, events));
    return added(name, handle);
  }

  /** The VM's handle: {@code handle}, now registered with its connection gauge, or the one already there. */
  private VmHandle added(String name, VmHandle handle) {
    VmHandle existing = vms.putIfAbsent(name, handle);
    if (existing != null) {
      return existing;
    }
    metrics.gauge("qmp_sidecar_qmp_connected", "1 while the VM's QMP connection is ready", name,
        () -> handle.state() == QmpState.READY ? 1 : 0);
    return handle;
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
    VmHandle handle = new VmHandle(vertx, name, address, commandTimeout, c -> publishEvents(name, c),
        c -> ready(name, c));
    return added(name, handle);
  }

  private void ready(String vm, QmpConnection connection) {
    metrics.gauge("qmp_sidecar_qmp_commands_in_flight", "QMP commands sent and not answered", vm, connection::inFlight);
    metrics.gauge("qmp_sidecar_qmp_commands_queued", "QMP commands waiting for an in-flight slot", vm,
        connection::queued);
    firstReady.connected(vm, connection);
  }

  /** Subscribes, before the connection opens, to every QEMU event of the VM for the event stream. */
  private void publishEvents(String vm, QmpConnection connection) {
    connection.subscribe(EventFilter.all(), vmEventBacklog(vms.size()), new QmpEventListener() {
      @Override
      public void onEvent(QmpEvent e) {
        metrics.qmpEvent(vm, e.name());
        VmHandle handle = vms.get(vm);
        if (handle != null && handle.retiring()) {
          ObjectNode data = JsonNodeFactory.instance.objectNode().put("event", e.name());
          data.set("data", e.data());
          events.publishQemu(vm, OLD_QEMU_EVENT, data, e.timestamp());
          return;
        }
        events.publishQemu(vm, eventType(e.name()), e.data(), e.timestamp());
        if (handle != null && RUN_STATE_EVENTS.contains(e.name())) {
          handle.runStateMayHaveChanged();
        }
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
}
