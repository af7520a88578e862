package io.qmpsidecar.sidecar.config;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.relay.RelayHostOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The daemon's whole configuration, validated. The VM-to-socket map comes only from here, never
 * from a request. Every key is described in docs/configuration.md.
 */
public record SidecarConfig(
    List<Vm> vms,
    Path vmSocketDir,
    LibvirtDiscovery libvirt,
    Path stateDir,
    Api api,
    Policy policy,
    Path proxyDir,
    Host host,
    Relay relay,
    Timeouts timeouts,
    Log log,
    Proxy proxy,
    Events events,
    Automation automation,
    LiveUpdate liveUpdate) {

  public SidecarConfig {
    vms = List.copyOf(vms);
  }

  private static final java.util.regex.Pattern VM_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /** Whether {@code name} may name a VM: 1-64 of letters, digits, '.', '_' and '-', the first a letter or digit. */
  public static boolean isValidVmName(String name) {
    return VM_NAME.matcher(name).matches();
  }

  /**
   * One VM: its name in the API and the relay, and how it is reached: its QMP monitor
   * ({@code qmp}), or its libvirt domain ({@code libvirt}); exactly one of the two is set.
   */
  public record Vm(String name, QmpAddress qmp, Libvirt libvirt) {
    public Vm {
      if ((qmp == null) == (libvirt == null)) {
        throw new IllegalArgumentException("VM " + name + ": set either qmp or libvirt");
      }
    }

    /** A VM reached over its QMP monitor. */
    public Vm(String name, QmpAddress qmp) {
      this(name, qmp, null);
    }
  }

  /**
   * A VM managed by libvirt: the sidecar uses libvirt's APIs only, never QEMU's monitor.
   *
   * @param uri the libvirt URI, e.g. {@code qemu:///system}
   * @param domain the domain's name
   * @param passthrough whether query-only QMP passthrough is allowed (it taints the domain)
   * @param managed whether libvirt binds host functions itself ({@code <hostdev managed='yes'>});
   *     false: the sidecar's host prep binds them, as for a QMP VM, and libvirt gets {@code managed='no'}
   */
  public record Libvirt(String uri, String domain, boolean passthrough, boolean managed) {}

  /**
   * Serve libvirt domains found on a URI: every running domain, or only those whose live XML has a
   * {@code <metadata>} element in the namespace {@code metadata}. Off when {@code uri} is null.
   */
  public record LibvirtDiscovery(String uri, String metadata) {
    public boolean enabled() {
      return uri != null;
    }
  }

  /**
   * The northbound API: a Unix socket (file permissions are the access control) and, only when
   * set, a TCP listener that requires bearer tokens and serves TLS when a certificate is given.
   *
   * @param tokens the tokens the configuration's check read from {@code tokensFile} (none without it)
   */
  public record Api(Path socket, String tcpHost, int tcpPort, Path tokensFile, ApiTokens tokens, Path tlsCert,
      Path tlsKey, String metricsHost, int metricsPort) {
    public boolean tcpEnabled() {
      return tcpHost != null;
    }

    /** Whether {@code api.metrics} is set: a TCP listener of {@code GET /metrics} alone, without tokens. */
    public boolean metricsEnabled() {
      return metricsHost != null;
    }

    public boolean tlsEnabled() {
      return tlsCert != null;
    }
  }

  /**
   * The policy: a preset name or a file; a file wins.
   *
   * @param valueSets the sets the policy may name ({@code value-set: NAME}), from the
   *     configuration: {@code migration.destinations}, {@code hotplug.allowedPfs},
   *     {@code hotplug.vendorDevices}, {@code hotplug.bdfPatterns}, {@code hotplug.mdevTypes} and
   *     {@code hostprep.variantDrivers} (= {@code host.vfioDrivers})
   * @param compiled the policy as the configuration's validation read it: the daemon enforces
   *     exactly what was validated, and reads the file once
   */
  public record Policy(String preset, Path file, Map<String, List<String>> valueSets,
      io.qmpsidecar.policy.Policy compiled) {
    public Policy {
      valueSets = Map.copyOf(valueSets);
    }
  }

  /**
   * Where host prep reads and writes ({@code /sys} and {@code /dev} on a real host), the VFIO
   * variant drivers a function may be bound to besides {@code vfio-pci}, and who writes.
   *
   * @param prepHelper the privileged host-prep helper's socket, or null to write sysfs directly; it
   *     also reads QEMU's descriptors for the release check where this sidecar may not
   */
  /**
   * The host's functions.
   *
   * @param iommufd whether functions go to QEMU through IOMMUFD where the host, the monitor and
   *     QEMU allow it ({@code host.iommufd: auto}), or always through their group ({@code off})
   */
  public record Host(Path sysfsRoot, Path devRoot, List<String> vfioDrivers, Path prepHelper, boolean iommufd) {
    public Host {
      vfioDrivers = List.copyOf(vfioDrivers);
    }
  }

  /**
   * The DPU link; {@code url} null means no relay.
   *
   * @param options the link's options, checked as the relay checks them at start (transport,
   *     bounds, times) and with the store in {@code stateDir}; null when there is no relay
   */
  public record Relay(String url, String hostId, RelayHostOptions options) {
    public boolean enabled() {
      return url != null;
    }
  }

  /**
   * Who may use the VMs' QMP proxy sockets and under which caller names (docs/proxy.md): the
   * main sockets' mode, one name for all their clients or rules naming them by credentials
   * ({@code uid:N}, {@code user:NAME}, {@code gid:N}, {@code group:NAME} to a name), the client
   * limit per VM, and sockets of their own for named consumers, per VM.
   */
  public record Proxy(boolean groupAccess, String clientName, int maxClients,
      Map<String, String> callers, Map<String, List<Consumer>> consumers) {
    public Proxy {
      callers = Map.copyOf(callers);
      consumers = Map.copyOf(consumers);
    }

    /** A consumer socket: its clients are caller {@code proxy:<name>}; {@code group} may connect. */
    public record Consumer(String name, String group) {}

    public List<Consumer> consumersOf(String vm) {
      return consumers.getOrDefault(vm, List.of());
    }
  }

  /**
   * Logging.
   *
   * @param format {@code auto}, {@code human} or {@code json}
   * @param auditFile the file the audit records go to, as JSON lines, or null: on stderr
   */
  public record Log(String format, Path auditFile) {}

  /**
   * How long each kind of operation may take.
   *
   * @param release how long QEMU may still hold a removed VFIO function's device nodes
   */
  public record Timeouts(Duration command, Duration attach, Duration detach, Duration release, Duration shutdown) {}

  /** The event stream: how many recent events a consumer can resume from ({@code Last-Event-ID}). */
  public record Events(int replay) {}

  /** Automation: the global bound on the policy's rule actions, and the hooks (docs/automation.md). */
  public record Automation(int maxActionsPerSecond, List<Hook> hooks) {
    public Automation {
      hooks = List.copyOf(hooks);
    }
  }

  /**
   * A program run on matching events ({@code events}), or before operations it may refuse
   * ({@code prepare}): one of the two is set.
   *
   * @param events event types or prefix patterns ({@code qmp.DEVICE_DELETED}, {@code qmp.*}, {@code *})
   * @param prepare the operations it runs before: {@code attach}, {@code detach}, {@code migrate}
   * @param vms only these VMs; empty: every VM
   * @param run the program (an absolute path) and its arguments
   * @param timeout after this the program is killed
   * @param concurrency runs at once
   * @param queue runs that may wait for a free one; more are dropped (events) or refused (prepare)
   */
  public record Hook(String name, List<String> events, List<String> prepare, List<String> vms, List<String> run,
      Duration timeout, int concurrency, int queue) {
    public Hook {
      events = List.copyOf(events);
      prepare = List.copyOf(prepare);
      vms = List.copyOf(vms);
      run = List.copyOf(run);
    }
  }

  /**
   * Live updates of QEMU (docs/live-update.md).
   *
   * @param launcher the command the new QEMU's command line is appended to, e.g. {@code
   *     [systemd-run, --scope, --collect]}; empty: the sidecar starts the new QEMU itself
   * @param binaries absolute paths of the QEMU binaries an update may name besides the running
   *     QEMU's own path
   * @param timeout the bound on each wait of an update
   */
  public record LiveUpdate(List<String> launcher, List<String> binaries, Duration timeout) {
    public LiveUpdate {
      launcher = List.copyOf(launcher);
      binaries = List.copyOf(binaries);
    }
  }
}
