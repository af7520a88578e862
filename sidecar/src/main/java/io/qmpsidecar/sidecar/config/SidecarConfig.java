package io.qmpsidecar.sidecar.config;

import io.qmpsidecar.qmp.QmpAddress;
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
    Path stateDir,
    Api api,
    Policy policy,
    Path proxyDir,
    Host host,
    Relay relay,
    Timeouts timeouts,
    String logFormat,
    Proxy proxy) {

  public SidecarConfig {
    vms = List.copyOf(vms);
  }

  private static final java.util.regex.Pattern VM_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");

  /** Whether {@code name} may name a VM: 1-64 of letters, digits, '.', '_' and '-'. */
  public static boolean isValidVmName(String name) {
    return VM_NAME.matcher(name).matches();
  }

  /** One VM: its name in the API and the relay, and its QMP monitor. */
  public record Vm(String name, QmpAddress qmp) {}

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

  /** Where host prep reads and writes: {@code /sys} and {@code /dev} on a real host. */
  public record Host(Path sysfsRoot, Path devRoot) {}

  /** The DPU link; {@code url} null means no relay. */
  public record Relay(String url, String hostId, Path cert, Path key, Path ca, boolean allowPlainRemote) {
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

  /** How long each kind of operation may take. */
  public record Timeouts(Duration command, Duration attach, Duration detach, Duration shutdown) {}
}
