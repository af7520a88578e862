package io.qmpsidecar.relay;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Options of the host end of the relay. Immutable: every {@code with…} method returns a copy, and
 * the constructor rejects inconsistent values with a message saying which and why.
 *
 * @param dpuHost the DPU endpoint's host name or IP literal; no default
 * @param dpuPort the DPU endpoint's TCP port; no default
 * @param hostId this host's identity in {@code relay.hello}; with TLS it must equal the certificate's CN; no default
 * @param storePath the SQLite file holding the outbox and opId outcomes; no default
 * @param tls mutual TLS files; null means plain {@code ws://}, allowed only to a loopback address unless {@link #allowPlainRemote}; default none
 * @param allowPlainRemote allow plain {@code ws://} to a non-loopback address (never in production); default {@value #DEFAULT_ALLOW_PLAIN_REMOTE}
 * @param maxMessageBytes largest JSON-RPC message accepted or sent, in bytes; default {@value #DEFAULT_MAX_MESSAGE_BYTES}
 * @param maxInFlightRequests DPU requests being served at once; more are answered with TOO_MANY_REQUESTS; default {@value #DEFAULT_MAX_IN_FLIGHT_REQUESTS}
 * @param maxPendingNotifications notifications waiting to be stored; {@link RelayHost#notify} fails with RelayOverloadedException beyond; default {@value #DEFAULT_MAX_PENDING_NOTIFICATIONS}
 * @param maxOutboxEntries stored notifications kept unacked; beyond, the oldest are dropped and a DPU that missed them gets a state.snapshot; default {@value #DEFAULT_MAX_OUTBOX_ENTRIES}
 * @param maxStoredOps opId outcomes kept for idempotency, oldest dropped first; default {@value #DEFAULT_MAX_STORED_OPS}
 * @param storeBatchSize most notifications stored in one transaction (group commit); default {@value #DEFAULT_STORE_BATCH_SIZE}
 * @param syncEveryCommit fsync every commit (SQLite synchronous=FULL) so a power loss keeps what was acknowledged; false survives process crashes only; default {@value #DEFAULT_SYNC_EVERY_COMMIT}
 * @param heartbeatInterval how often each end sends relay.ping; default 5 s
 * @param heartbeatTimeout silence after which the peer is declared dead and the link redialed; default 15 s
 * @param requestTimeout how long the host waits for the answer to relay.hello; default 10 s
 * @param executorTimeout how long a RequestExecutor call may take before the DPU gets INTERNAL_ERROR; default 60 s
 * @param reconnectInitialDelay first backoff after a failed dial; doubles up to reconnectMaxDelay, with full jitter; default 100 ms
 * @param reconnectMaxDelay largest backoff between dials; default 30 s
 */
public record RelayHostOptions(
    String dpuHost,
    int dpuPort,
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
    Duration requestTimeout,
    Duration executorTimeout,
    Duration reconnectInitialDelay,
    Duration reconnectMaxDelay) {

  public static final boolean DEFAULT_ALLOW_PLAIN_REMOTE = false;
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
  public static final int DEFAULT_MAX_IN_FLIGHT_REQUESTS = 64;
  public static final int DEFAULT_MAX_PENDING_NOTIFICATIONS = 65_536;
  public static final long DEFAULT_MAX_OUTBOX_ENTRIES = 1_000_000;
  public static final int DEFAULT_MAX_STORED_OPS = 100_000;
  public static final int DEFAULT_STORE_BATCH_SIZE = 2048;
  public static final boolean DEFAULT_SYNC_EVERY_COMMIT = true;
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = Duration.ofSeconds(15);
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
  public static final Duration DEFAULT_EXECUTOR_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_RECONNECT_INITIAL_DELAY = Duration.ofMillis(100);
  public static final Duration DEFAULT_RECONNECT_MAX_DELAY = Duration.ofSeconds(30);

  public RelayHostOptions {
    requireText(dpuHost, "dpuHost");
    if (dpuPort < 1 || dpuPort > 65535) {
      throw new IllegalArgumentException("dpuPort " + dpuPort + " is not a TCP port (1-65535)");
    }
    requireText(hostId, "hostId");
    Objects.requireNonNull(storePath, "storePath: give the SQLite file for the outbox");
    requireAtLeast(maxMessageBytes, 1024, "maxMessageBytes");
    requireAtLeast(maxInFlightRequests, 1, "maxInFlightRequests");
    requireAtLeast(maxPendingNotifications, 1, "maxPendingNotifications");
    requireAtLeast(maxOutboxEntries, 1, "maxOutboxEntries");
    requireAtLeast(maxStoredOps, 1, "maxStoredOps");
    requireAtLeast(storeBatchSize, 1, "storeBatchSize");
    requirePositive(heartbeatInterval, "heartbeatInterval");
    requirePositive(heartbeatTimeout, "heartbeatTimeout");
    if (heartbeatTimeout.compareTo(heartbeatInterval) <= 0) {
      throw new IllegalArgumentException("heartbeatTimeout " + heartbeatTimeout
          + " must be longer than heartbeatInterval " + heartbeatInterval + ", or every link would drop");
    }
    requirePositive(requestTimeout, "requestTimeout");
    requirePositive(executorTimeout, "executorTimeout");
    requirePositive(reconnectInitialDelay, "reconnectInitialDelay");
    requirePositive(reconnectMaxDelay, "reconnectMaxDelay");
    if (reconnectMaxDelay.compareTo(reconnectInitialDelay) < 0) {
      throw new IllegalArgumentException("reconnectMaxDelay " + reconnectMaxDelay
          + " is shorter than reconnectInitialDelay " + reconnectInitialDelay);
    }
  }

  /** Options with every default: plain loopback link, durable store at {@code storePath}. */
  public static RelayHostOptions of(String dpuHost, int dpuPort, String hostId, Path storePath) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, null, DEFAULT_ALLOW_PLAIN_REMOTE,
        DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_IN_FLIGHT_REQUESTS, DEFAULT_MAX_PENDING_NOTIFICATIONS,
        DEFAULT_MAX_OUTBOX_ENTRIES, DEFAULT_MAX_STORED_OPS, DEFAULT_STORE_BATCH_SIZE,
        DEFAULT_SYNC_EVERY_COMMIT, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_HEARTBEAT_TIMEOUT,
        DEFAULT_REQUEST_TIMEOUT, DEFAULT_EXECUTOR_TIMEOUT, DEFAULT_RECONNECT_INITIAL_DELAY,
        DEFAULT_RECONNECT_MAX_DELAY);
  }

  public RelayHostOptions withDpuHost(String dpuHost) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withDpuPort(int dpuPort) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHostId(String hostId) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withStorePath(Path storePath) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withTls(RelayTls tls) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withAllowPlainRemote(boolean allowPlainRemote) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxMessageBytes(int maxMessageBytes) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxInFlightRequests(int maxInFlightRequests) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxPendingNotifications(int maxPendingNotifications) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxOutboxEntries(long maxOutboxEntries) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withMaxStoredOps(int maxStoredOps) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withStoreBatchSize(int storeBatchSize) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withSyncEveryCommit(boolean syncEveryCommit) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHeartbeatInterval(Duration heartbeatInterval) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withHeartbeatTimeout(Duration heartbeatTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withRequestTimeout(Duration requestTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withExecutorTimeout(Duration executorTimeout) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withReconnectInitialDelay(Duration reconnectInitialDelay) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  public RelayHostOptions withReconnectMaxDelay(Duration reconnectMaxDelay) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries,
        maxStoredOps, storeBatchSize, syncEveryCommit, heartbeatInterval, heartbeatTimeout,
        requestTimeout, executorTimeout, reconnectInitialDelay, reconnectMaxDelay);
  }

  /** With heartbeats: {@code interval} between pings, dead after {@code timeout} of silence. */
  public RelayHostOptions withHeartbeat(Duration interval, Duration timeout) {
    return new RelayHostOptions(dpuHost, dpuPort, hostId, storePath, tls, allowPlainRemote,
        maxMessageBytes, maxInFlightRequests, maxPendingNotifications, maxOutboxEntries, maxStoredOps,
        storeBatchSize, syncEveryCommit, interval, timeout, requestTimeout, executorTimeout,
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
}
