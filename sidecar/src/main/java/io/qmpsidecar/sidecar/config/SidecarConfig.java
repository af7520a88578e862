package io.qmpsidecar.sidecar.config;

import io.qmpsidecar.qmp.QmpAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

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
    String logFormat) {

  public SidecarConfig {
    vms = List.copyOf(vms);
  }

  private static final java.util.regex.Pattern VM_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /** Whether {@code name} may name a VM: 1-64 of letters, digits, '.', '_' and '-'. */
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
   */
  public record Api(Path socket, String tcpHost, int tcpPort, Path tokensFile, Path tlsCert, Path tlsKey) {
    public boolean tcpEnabled() {
      return tcpHost != null;
    }

    public boolean tlsEnabled() {
      return tlsCert != null;
    }
  }

  /** The policy: a preset name or a file; a file wins. */
  public record Policy(String preset, Path file) {}

  /**
   * Where host prep reads and writes ({@code /sys} and {@code /dev} on a real host), and the VFIO
   * variant drivers a function may be bound to besides {@code vfio-pci}.
   */
  public record Host(Path sysfsRoot, Path devRoot, List<String> vfioDrivers) {
    public Host {
      vfioDrivers = List.copyOf(vfioDrivers);
    }
  }

  /** The DPU link; {@code url} null means no relay. */
  public record Relay(String url, String hostId, Path cert, Path key, Path ca, boolean allowPlainRemote) {
    public boolean enabled() {
      return url != null;
    }
  }

  /** How long each kind of operation may take. */
  public record Timeouts(Duration command, Duration attach, Duration detach, Duration shutdown) {}
}
