package io.qmpsidecar.relay;

import io.qmpsidecar.relay.impl.Loopback;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Options of the host end of the relay. Immutable: every {@code with…} method returns a copy, and
 * the constructor rejects inconsistent values with a message saying which and why.
 *
 * @param dpuHost the DPU endpoint's host name or IP literal; no default
 * @param dpuPort the DPU endpoint's TCP port; no default
 * @param path the HTTP path of the DPU endpoint's WebSocket (the path of {@code relay.url}); default {@value #DEFAULT_PATH}
 * @param hostId this host's identity in {@code relay.hello}; with TLS it must equal the certificate's CN; no default
 * @param storePath the SQLite file holding the outbox and opId outcomes; no default
 * @param tls mutual TLS files; null means plain {@code ws://}, allowed only to a loopback address unless {@link #allowPlainRemote}; default none
 * @param allowPlainRemote allow plain {@code ws://} to a non-loopback address (never in production); default {@value #DEFAULT_ALLOW_PLAIN_REMOTE}
 * @param maxMessageBytes largest JSON-RPC message accepted or sent, in bytes (a single WebSocket frame up to this size is accepted); default {@value #DEFAULT_MAX_MESSAGE_BYTES}
 * @param maxInFlightRequests DPU requests being served at once; more are answered with TOO_MANY_REQUESTS; default {@value #DEFAULT_MAX_IN_FLIGHT_REQUESTS}
 * @param maxPendingNotifications notifications waiting to be stored; {@link RelayHost#notify} fails with RelayOverloadedException beyond; default {@value #DEFAULT_MAX_PENDING_NOTIFICATIONS}
 * @param maxOutboxEntries stored notifications kept unacked; beyond, the oldest are dropped and a DPU that missed them gets a state.snapshot; default {@value #DEFAULT_MAX_OUTBOX_ENTRIES}
 * @param maxStoredOps opId outcomes kept for idempotency, oldest dropped first; default {@value #DEFAULT_MAX_STORED_OPS}
 * @param storeBatchSize most notifications stored in one transaction (group commit); default {@value #DEFAULT_STORE_BATCH_SIZE}
 * @param syncEveryCommit fsync every commit (SQLite synchronous=FULL) so a power loss keeps what was acknowledged; false survives process crashes only; default {@value #DEFAULT_SYNC_EVERY_COMMIT}
 * @param heartbeatInterval how often each end sends relay.ping; default 5 s
 * @param heartbeatTimeout silence after which the peer is declared dead and the link redialed; default 15 s
 * @param helloTimeout how long a dial may take, TCP, TLS and WebSocket handshakes and the answer to relay.hello together; default 10 s
 * @param executorTimeout how long a RequestExecutor call (and the reconciliation of an interrupted operation) may take before the DPU gets INTERNAL_ERROR; default 60 s
 * @param reconnectInitialDelay first backoff after a failed dial; doubles up to reconnectMaxDelay, with full jitter; default 100 ms
 * @param reconnectMaxDelay largest backoff between dials; default 30 s
 */
public record RelayHostOptions(
    String dpuHost,
    int dpuPort,
    String path,
    String hostId,
    Path storePath,
    RelayTls tls,
    boolean allowPlainRemote,
    int maxMessageBytes,
    int maxInFlightRequests,
    int maxPendingNotifications,
    long maxOutboxEntries,
    int maxStoredOps,
    int storeBatchSize,
    boolean syncEveryCommit,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration helloTimeout,
    Duration executorTimeout,
    Duration reconnectInitialDelay,
    Duration reconnectMaxDelay) {

  public static final String DEFAULT_PATH = "/relay";
  public static final boolean DEFAULT_ALLOW_PLAIN_REMOTE = false;
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
  /** Largest accepted maxMessageBytes: a frame of four times it must still fit in memory and an int. */
  public static final int MAX_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
  public static final int DEFAULT_MAX_IN_FLIGHT_REQUESTS = 64;
  public static final int DEFAULT_MAX_PENDING_NOTIFICATIONS = 65_536;
  public static final long DEFAULT_MAX_OUTBOX_ENTRIES = 1_000_000;
  public static final int DEFAULT_MAX_STORED_OPS = 100_000;
  public static final int DEFAULT_STORE_BATCH_SIZE = 2048;
  public static final boolean DEFAULT_SYNC_EVERY_COMMIT = true;
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_EXECUTOR_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_RECONNECT_INITIAL_DELAY = Duration.ofMillis(100);
  public static final Duration DEFAULT_RECONNECT_MAX_DELAY = Duration.ofSeconds(30);

  public RelayHostOptions {
    requireText(dpuHost, "dpuHost");
    if (dpuPort < 1 || dpuPort > 65535) {
      throw new IllegalArgumentException("dpuPort " + dpuPort + " is not a TCP port (1-65535)");
    }
    requirePath(path);
    requireText(hostId, "hostId");
    Objects.requireNonNull(storePath, "storePath: give the SQLite file for the outbox");
    requireMessageBytes(maxMessageBytes);
    requireAtLeast(maxInFlightRequests, 1, "maxInFlightRequests");
    requireAtLeast(maxPendingNotifications, 1, "maxPendingNotifications");
    requireAtLeast(maxOutboxEntries, 1, "maxOutboxEntries");
    requireAtLeast(maxStoredOps, 1, "maxStoredOps");
    requireAtLeast(storeBatchSize, 1, "storeBatchSize");
    requireHeartbeat(heartbeatInterval, heartbeatTimeout);
    requirePositive(helloTimeout, "helloTimeout");
    requirePositive(executorTimeout, "executorTimeout");
    requirePositive(reconnectInitialDelay, "reconnectInitialDelay");
    requirePositive(reconnectMaxDelay, "reconnectMaxDelay");
    if (reconnectMaxDelay.compareTo(reconnectInitialDelay) < 0) {
      throw new IllegalArgumentException("reconnectMaxDelay " + reconnectMaxDelay
          + " is shorter than reconnectInitialDelay " + reconnectInitialDelay);
    }
  }

  /** Options with every default: plain loopback link on {@value #DEFAULT_PATH}, durable store at {@code storePath}. */
  public static RelayHostOptions of(String dpuHost, int dpuPort, String hostId, Path storePath) {
    return new RelayHostOptions(dpuHost, dpuPort, DEFAULT_PATH, hostId, storePath, null,
        DEFAULT_ALLOW_PLAIN_REMOTE, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_IN_FLIGHT_REQUESTS,
        DEFAULT_MAX_PENDING_NOTIFICATIONS, DEFAULT_MAX_OUTBOX_ENTRIES, DEFAULT_MAX_STORED_OPS,
        DEFAULT_STORE_BATCH_SIZE, DEFAULT_SYNC_EVERY_COMMIT, DEFAULT_HEARTBEAT_INTERVAL,
        DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_HELLO_TIMEOUT, DEFAULT_EXECUTOR_TIMEOUT,
        DEFAULT_RECONNECT_INITIAL_DELAY, DEFAULT_RECONNECT_MAX_DELAY);
  }

  /**
   * Options for a DPU endpoint URL, {@code wss://HOST[:PORT][/PATH]} (or {@code ws://} on
   * loopback), with every other default. Refuses what {@link RelayHost#start} would refuse, so a
   * configuration check can call it: a scheme other than ws/wss, {@code wss://} without TLS files,
   * {@code ws://} with them, and {@code ws://} to a non-loopback host unless
   * {@code allowPlainRemote}. The port defaults to 443 for wss and 80 for ws, the path to
   * {@value #DEFAULT_PATH}.
   *
   * @throws IllegalArgumentException saying what is wrong with the URL and how to fix it
   */
  public static RelayHostOptions forUrl(URI url, String hostId, Path storePath, RelayTls tls,
      boolean allowPlainRemote) {
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("wss") && !scheme.equals("ws")) {
      throw new IllegalArgumentException("relay URL " + url + " must be wss://HOST:PORT/PATH (or ws:// on loopback)");
    }
    if (url.getHost() == null || url.getHost().isBlank()) {
      throw new IllegalArgumentException("relay URL " + url + " names no host; write wss://HOST:PORT/PATH");
    }
    boolean secure = scheme.equals("wss");
    if (secure && tls == null) {
      throw new IllegalArgumentException("relay URL " + url + " is wss:// but no TLS files are configured;"
          + " give the certificate, key and CA (or use ws:// on loopback for development)");
    }
    if (!secure && tls != null) {
      throw new IllegalArgumentException("relay URL " + url + " is plain ws:// but TLS files are configured;"
          + " use wss:// so they are used");
    }
    String host = url.getHost().startsWith("[") ? url.getHost().substring(1, url.getHost().length() - 1) : url.getHost();
    String path = url.getRawPath() == null || url.getRawPath().isEmpty() ? DEFAULT_PATH : url.getRawPath();
    if (url.getRawQuery() != null) {
      path = path + "?" + url.getRawQuery();
    }
    int port = url.getPort() > 0 ? url.getPort() : secure ? 443 : 80;
    RelayHostOptions options = of(host, port, hostId, storePath).withPath(path).withTls(tls)
        .withAllowPlainRemote(allowPlainRemote);
    options.checkTransport();
    return options;
  }

  /**
   * Refuses plain transport to a non-loopback DPU unless {@link #allowPlainRemote}: the check
   * {@link RelayHost#start} makes.
   *
   * @throws IllegalArgumentException saying what to configure instead
   */
  public void checkTransport() {
    if (tls == null && !allowPlainRemote && !Loopback.isLoopback(dpuHost)) {
      throw new IllegalArgumentException("DPU endpoint " + dpuHost + " is not a loopback address and no TLS files"
          + " are configured; configure mutual TLS (certificate, key, CA) or use 127.0.0.1 for development");
    }
  }

  public RelayHostOptions withDpuHost(String dpuHost) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withDpuPort(int dpuPort) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withPath(String path) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHostId(String hostId) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withStorePath(Path storePath) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withTls(RelayTls tls) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withAllowPlainRemote(boolean allowPlainRemote) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxMessageBytes(int maxMessageBytes) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxInFlightRequests(int maxInFlightRequests) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxPendingNotifications(int maxPendingNotifications) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxOutboxEntries(long maxOutboxEntries) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxStoredOps(int maxStoredOps) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withStoreBatchSize(int storeBatchSize) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withSyncEveryCommit(boolean syncEveryCommit) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHeartbeatInterval(Duration heartbeatInterval) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHeartbeatTimeout(Duration heartbeatTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHelloTimeout(Duration helloTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withExecutorTimeout(Duration executorTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withReconnectInitialDelay(Duration reconnectInitialDelay) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withReconnectMaxDelay(Duration reconnectMaxDelay) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout, helloTimeout,
        executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  /** With heartbeats: {@code interval} between pings, dead after {@code timeout} of silence. */
  public RelayHostOptions withHeartbeat(Duration interval, Duration timeout) {
    return new RelayHostOptions(dpuHost, dpuPort, path, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, interval, timeout, helloTimeout, executorTimeout,
        reconnectInitialDelay, reconnectMaxDelay);
  }

  static void requireText(String value, String name) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException(name + " is blank; set it");
    }
  }

  static void requireAtLeast(long value, long min, String name) {
    if (value < min) {
      throw new IllegalArgumentException(name + " is " + value + "; it must be at least " + min);
    }
  }

  static void requirePositive(Duration value, String name) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " is " + value + "; give a positive duration");
    }
  }

  static void requirePath(String path) {
    if (path == null || !path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ')) {
      throw new IllegalArgumentException("path " + (path == null ? "null" : "'" + path + "'")
          + " is not an HTTP path; write it like /relay (a leading slash, no spaces)");
    }
  }

  static void requireMessageBytes(int maxMessageBytes) {
    requireAtLeast(maxMessageBytes, 1024, "maxMessageBytes");
    if (maxMessageBytes > MAX_MAX_MESSAGE_BYTES) {
      throw new IllegalArgumentException("maxMessageBytes is " + maxMessageBytes + "; it must be at most "
          + MAX_MAX_MESSAGE_BYTES + " (256 MiB)");
    }
  }

  static void requireHeartbeat(Duration interval, Duration timeout) {
    requirePositive(interval, "heartbeatInterval");
    requirePositive(timeout, "heartbeatTimeout");
    if (timeout.compareTo(interval) <= 0) {
      throw new IllegalArgumentException("heartbeatTimeout " + timeout
          + " must be longer than heartbeatInterval " + interval + ", or every link would drop");
    }
  }
}
