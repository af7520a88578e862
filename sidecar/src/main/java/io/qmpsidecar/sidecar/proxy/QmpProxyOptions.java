package io.qmpsidecar.sidecar.proxy;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Immutable settings of one QMP proxy socket. Build with {@link #of(Path)} and change with the
 * {@code with…} copies; each default is the {@code DEFAULT_*} constant named in its Javadoc.
 *
 * @param socketPath where the proxy's Unix socket is created
 * @param clientName the name every client of this socket is checked under, as caller
 *     {@code proxy:<clientName>}; null (the default) names each client by its connection index,
 *     {@code proxy:client-<n>}, counted from 1 since the proxy started
 * @param groupAccess create the socket file with mode 0660 instead of 0600 (default false: only
 *     the sidecar's user may connect)
 * @param maxClients clients connected at once ({@link #DEFAULT_MAX_CLIENTS}); the one over the
 *     limit gets one QMP error line and is disconnected
 * @param maxLineBytes longest command line a client may send ({@link #DEFAULT_MAX_LINE_BYTES}); a
 *     longer one gets one QMP error line and the client is disconnected
 * @param maxPipelined commands of one client that may be unanswered at once
 *     ({@link #DEFAULT_MAX_PIPELINED}); beyond it the proxy stops reading that client's socket
 *     until a reply goes out, so one client can never fill the shared QEMU connection's queue
 * @param eventQueueCapacity events buffered per client while its socket cannot take more
 *     ({@link #DEFAULT_EVENT_QUEUE_CAPACITY}); beyond it that client's events are dropped and
 *     counted
 */
public record QmpProxyOptions(
    Path socketPath,
    String clientName,
    boolean groupAccess,
    int maxClients,
    int maxLineBytes,
    int maxPipelined,
    int eventQueueCapacity) {

  public static final int DEFAULT_MAX_CLIENTS = 64;
  public static final int DEFAULT_MAX_LINE_BYTES = 1024 * 1024;
  public static final int DEFAULT_MAX_PIPELINED = 8;
  public static final int DEFAULT_EVENT_QUEUE_CAPACITY = 256;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._@-]{1,64}");

  public QmpProxyOptions {
    Objects.requireNonNull(socketPath, "socketPath");
    if (clientName != null && !NAME.matcher(clientName).matches()) {
      throw new IllegalArgumentException("proxy client name '" + clientName
          + "' must be 1-64 characters from A-Z a-z 0-9 . _ @ - (it becomes caller proxy:<name>)");
    }
    requireAtLeast(maxClients, 1, "maxClients");
    requireAtLeast(maxLineBytes, 1024, "maxLineBytes");
    requireAtLeast(maxPipelined, 1, "maxPipelined");
    requireAtLeast(eventQueueCapacity, 1, "eventQueueCapacity");
  }

  private static void requireAtLeast(int value, int min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
    }
  }

  /** Options with every default for a socket at {@code socketPath}. */
  public static QmpProxyOptions of(Path socketPath) {
    return new QmpProxyOptions(socketPath, null, false, DEFAULT_MAX_CLIENTS,
        DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_PIPELINED, DEFAULT_EVENT_QUEUE_CAPACITY);
  }

  public QmpProxyOptions withClientName(String name) {
    return new QmpProxyOptions(socketPath, name, groupAccess, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity);
  }

  public QmpProxyOptions withGroupAccess(boolean group) {
    return new QmpProxyOptions(socketPath, clientName, group, maxClients, maxLineBytes,
        maxPipelined, eventQueueCapacity);
  }

  public QmpProxyOptions withMaxClients(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, n, maxLineBytes,
        maxPipelined, eventQueueCapacity);
  }

  public QmpProxyOptions withMaxLineBytes(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, n,
        maxPipelined, eventQueueCapacity);
  }

  public QmpProxyOptions withMaxPipelined(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        n, eventQueueCapacity);
  }

  public QmpProxyOptions withEventQueueCapacity(int n) {
    return new QmpProxyOptions(socketPath, clientName, groupAccess, maxClients, maxLineBytes,
        maxPipelined, n);
  }
}
