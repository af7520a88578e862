package io.qmpsidecar.sidecar.proxy;

import io.qmpsidecar.sidecar.config.SidecarConfig;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable settings of one VM's QMP proxy. Build with {@link #of(Path)} and change with the
 * {@code with…} copies; each default is the {@code DEFAULT_*} constant named in its Javadoc.
 *
 * @param socketPath where the VM's main proxy socket is created, e.g. {@code DIR/vm1.qmp}
 * @param clientName the name every client of the main socket is checked under, as caller
 *     {@code proxy:<clientName>}; null (the default) names each client from its credentials
 *     (SO_PEERCRED): by {@code callers}, else {@code proxy:<user name>}
 * @param groupAccess create the main socket with mode 0660 instead of 0600 (default false: only
 *     the sidecar's user may connect)
 * @param maxClients clients connected at once over all of this VM's sockets
 *     ({@link #DEFAULT_MAX_CLIENTS}); the one over the limit gets one QMP error line and is
 *     disconnected
 * @param maxLineBytes most token text one command may have ({@link #DEFAULT_MAX_LINE_BYTES}); a
 *     longer one gets QEMU's "JSON token size limit exceeded" (QEMU's own limit is 64 MiB) and
 *     reading goes on after it, as in QEMU
 * @param maxPipelined commands of one client that may be unanswered at once
 *     ({@link #DEFAULT_MAX_PIPELINED}); beyond it the proxy stops reading that client's socket
 *     until a reply goes out, so one client can never fill the shared QEMU connection's queue
 * @param eventQueueCapacity events waiting for one client while its socket cannot take more
 *     ({@link #DEFAULT_EVENT_QUEUE_CAPACITY}); beyond it that client's events are dropped and
 *     counted when they are dropped
 * @param callers rules naming clients of the main socket from their credentials: keys
 *     {@code uid:N}, {@code user:NAME}, {@code gid:N}, {@code group:NAME}, values caller names
 *     (default none)
 * @param consumers sockets of their own for named consumers, beside the main one (default none)
 */
public record QmpProxyOptions(
    Path socketPath,
    String clientName,
    boolean groupAccess,
    int maxClients,
    int maxLineBytes,
    int maxPipelined,
    int eventQueueCapacity,
    Map<String, String> callers,
    List<ProxyConsumer> consumers) {

  public static final int DEFAULT_MAX_CLIENTS = 64;
  public static final int DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
  public static final int DEFAULT_MAX_PIPELINED = 8;
  public static final int DEFAULT_EVENT_QUEUE_CAPACITY = 256;

  public QmpProxyOptions {
    Objects.requireNonNull(socketPath, "socketPath");
    if (clientName != null && !CallerNames.isValidName(clientName)) {
      throw new IllegalArgumentException("proxy client name '" + clientName
          + "' must be 1-64 characters from A-Z a-z 0-9 . _ @ - (it becomes caller proxy:<name>)");
    }
    requireAtLeast(maxClients, 1, "maxClients");
    requireAtLeast(maxLineBytes, 1024, "maxLineBytes");
    requireAtLeast(maxPipelined, 1, "maxPipelined");
    requireAtLeast(eventQueueCapacity, 1, "eventQueueCapacity");
    callers = new CallerNames(callers).rules();
    consumers = List.copyOf(consumers);
    Set<String> names = new HashSet<>();
    for (ProxyConsumer c : consumers) {
      if (!names.add(c.name())) {
        throw new IllegalArgumentException("proxy consumer '" + c.name() + "' is listed twice;"
            + " consumer names must be unique per VM");
      }
    }
  }

  private static void requireAtLeast(int value, int min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
    }
  }

  /** Options with every default for a main socket at {@code socketPath}. */
  public static QmpProxyOptions of(Path socketPath) {
    return new QmpProxyOptions(socketPath, null, false, DEFAULT_MAX_CLIENTS,
        DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PIPELINED, DEFAULT_EVENT_QUEUE_CAPACITY, Map.of(),
        List.of());
  }

  /**
   * Options for one VM from the daemon's configuration: the main socket {@code DIR/<vm>.qmp},
   * {@code proxy.groupAccess}, {@code proxy.clientName}, {@code proxy.maxClients},
   * {@code proxy.callers} and the VM's {@code proxy.consumers}; every other option its default.
   */
  public static QmpProxyOptions forVm(Path dir, String vm, SidecarConfig.Proxy access) {
    return of(dir.resolve(vm + ".qmp")).withGroupAccess(access.groupAccess())
        .withClientName(access.clientName()).withMaxClients(access.maxClients())
        .withCallers(access.callers())
        .withConsumers(access.consumersOf(vm).stream()
            .map(c -> new ProxyConsumer(c.name(), c.group())).toList());
  }

  /** The socket of {@code consumer}: {@code <stem>.<name>.qmp} beside the main socket. */
  public Path consumerSocketPath(ProxyConsumer consumer) {
    String file = socketPath.getFileName().toString();
    String stem = file.endsWith(".qmp") ? file.substring(0, file.length() - 4) : file;
    return socketPath.resolveSibling(stem + "." + consumer.name() + ".qmp");
  }

  public QmpProxyOptions withClientName(String name) {
    return new QmpProxyOptions(socketPath, name, groupAccess, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity, callers, consumers);
  }

  public QmpProxyOptions withGroupAccess(boolean group) {
    return new QmpProxyOptions(socketPath, clientName, group, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity, callers, consumers);
  }

  public QmpProxyOptions withMaxClients(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, n, maxLineBytes,
        maxPipelined, eventQueueCapacity, callers, consumers);
  }

  public QmpProxyOptions withMaxLineBytes(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, n,
        maxPipelined, eventQueueCapacity, callers, consumers);
  }

  public QmpProxyOptions withMaxPipelined(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        n, eventQueueCapacity, callers, consumers);
  }

  public QmpProxyOptions withEventQueueCapacity(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        maxPipelined, n, callers, consumers);
  }

  public QmpProxyOptions withCallers(Map<String, String> rules) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity, rules, consumers);
  }

  public QmpProxyOptions withConsumers(List<ProxyConsumer> list) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity, callers, list);
  }
}
