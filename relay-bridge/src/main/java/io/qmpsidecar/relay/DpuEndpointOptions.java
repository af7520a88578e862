package io.qmpsidecar.relay;

import java.time.Duration;

/**
 * Options of the DPU end of the relay. Immutable: every {@code with…} method returns a copy, and
 * the constructor rejects inconsistent values with a message saying which and why.
 *
 * @param bindHost address to listen on; default {@value #DEFAULT_BIND_HOST}
 * @param port TCP port, 0 for any free one (see {@link DpuEndpoint#actualPort()}); default {@value #DEFAULT_PORT}
 * @param path the HTTP path the WebSocket is served on; other paths get 404; default {@value #DEFAULT_PATH}
 * @param dpuId this DPU's identity in the {@code relay.hello} answer; default {@value #DEFAULT_DPU_ID}
 * @param tls mutual TLS files; null means plain {@code ws://}, allowed only on a loopback address unless {@link #allowPlainRemote}; default none
 * @param allowPlainRemote allow plain {@code ws://} on a non-loopback address (never in production); default {@value #DEFAULT_ALLOW_PLAIN_REMOTE}
 * @param requireHostIdMatchesCertificate with TLS, refuse a hello whose hostId differs from the client certificate's CN, so one host cannot speak for another; default {@value #DEFAULT_REQUIRE_HOST_ID_MATCHES_CERTIFICATE}
 * @param maxMessageBytes largest JSON-RPC message accepted or sent, in bytes (a single WebSocket frame up to this size is accepted); default {@value #DEFAULT_MAX_MESSAGE_BYTES}
 * @param maxPendingRequests requests per host waiting for an answer; {@link DpuEndpoint#request} fails with RelayOverloadedException beyond; default {@value #DEFAULT_MAX_PENDING_REQUESTS}
 * @param maxHosts hosts tracked at once (connected or with a remembered last seq); default {@value #DEFAULT_MAX_HOSTS}
 * @param ackEvery send relay.ack at once after this many unacked notifications; default {@value #DEFAULT_ACK_EVERY}
 * @param ackDelay otherwise ack this long after the first unacked notification; default 5 ms
 * @param heartbeatInterval how often relay.ping is sent; default 5 s
 * @param heartbeatTimeout silence after which the host is declared gone and its link closed; default 15 s
 * @param requestTimeout how long a request waits for the host's answer; default 30 s
 * @param helloTimeout how long a new connection may take to send relay.hello; default 10 s
 */
public record DpuEndpointOptions(
    String bindHost,
    int port,
    String path,
    String dpuId,
    RelayTls tls,
    boolean allowPlainRemote,
    boolean requireHostIdMatchesCertificate,
    int maxMessageBytes,
    int maxPendingRequests,
    int maxHosts,
    int ackEvery,
    Duration ackDelay,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration requestTimeout,
    Duration helloTimeout) {

  public static final String DEFAULT_BIND_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 0;
  public static final String DEFAULT_PATH = RelayHostOptions.DEFAULT_PATH;
  public static final String DEFAULT_DPU_ID = "dpu";
  public static final boolean DEFAULT_ALLOW_PLAIN_REMOTE = false;
  public static final boolean DEFAULT_REQUIRE_HOST_ID_MATCHES_CERTIFICATE = true;
  public static final int DEFAULT_MAX_MESSAGE_BYTES = RelayHostOptions.DEFAULT_MAX_MESSAGE_BYTES;
  public static final int DEFAULT_MAX_PENDING_REQUESTS = 256;
  public static final int DEFAULT_MAX_HOSTS = 1024;
  public static final int DEFAULT_ACK_EVERY = 256;
  public static final Duration DEFAULT_ACK_DELAY = Duration.ofMillis(5);
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = RelayHostOptions.DEFAULT_HEARTBEAT_INTERVAL;
  public static final Duration DEFAULT_HEARTBEAT_TIMEOUT = RelayHostOptions.DEFAULT_HEARTBEAT_TIMEOUT;
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(10);

  public DpuEndpointOptions {
    RelayHostOptions.requireText(bindHost, "bindHost");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not a TCP port (0-65535)");
    }
    RelayHostOptions.requirePath(path);
    RelayHostOptions.requireText(dpuId, "dpuId");
    RelayHostOptions.requireMessageBytes(maxMessageBytes);
    RelayHostOptions.requireAtLeast(maxPendingRequests, 1, "maxPendingRequests");
    RelayHostOptions.requireAtLeast(maxHosts, 1, "maxHosts");
    RelayHostOptions.requireAtLeast(ackEvery, 1, "ackEvery");
    RelayHostOptions.requirePositive(ackDelay, "ackDelay");
    RelayHostOptions.requireHeartbeat(heartbeatInterval, heartbeatTimeout);
    RelayHostOptions.requirePositive(requestTimeout, "requestTimeout");
    RelayHostOptions.requirePositive(helloTimeout, "helloTimeout");
  }

  /** Options with every default: plain, loopback, any free port. */
  public static DpuEndpointOptions defaults() {
    return new DpuEndpointOptions(DEFAULT_BIND_HOST, DEFAULT_PORT, DEFAULT_PATH, DEFAULT_DPU_ID, null,
        DEFAULT_ALLOW_PLAIN_REMOTE, DEFAULT_REQUIRE_HOST_ID_MATCHES_CERTIFICATE,
        DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PENDING_REQUESTS, DEFAULT_MAX_HOSTS,
        DEFAULT_ACK_EVERY, DEFAULT_ACK_DELAY, DEFAULT_HEARTBEAT_INTERVAL,
        DEFAULT_HEARTBEAT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_HELLO_TIMEOUT);
  }

  public DpuEndpointOptions withBindHost(String bindHost) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withPort(int port) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withPath(String path) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withDpuId(String dpuId) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withTls(RelayTls tls) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withAllowPlainRemote(boolean allowPlainRemote) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withRequireHostIdMatchesCertificate(boolean requireHostIdMatchesCertificate) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withMaxMessageBytes(int maxMessageBytes) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withMaxPendingRequests(int maxPendingRequests) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withMaxHosts(int maxHosts) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withAckEvery(int ackEvery) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withAckDelay(Duration ackDelay) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withHeartbeatInterval(Duration heartbeatInterval) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withHeartbeatTimeout(Duration heartbeatTimeout) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withRequestTimeout(Duration requestTimeout) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  public DpuEndpointOptions withHelloTimeout(Duration helloTimeout) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, heartbeatInterval, heartbeatTimeout, requestTimeout, helloTimeout);
  }

  /** With heartbeats: {@code interval} between pings, dead after {@code timeout} of silence. */
  public DpuEndpointOptions withHeartbeat(Duration interval, Duration timeout) {
    return new DpuEndpointOptions(bindHost, port, path, dpuId, tls, allowPlainRemote,
        requireHostIdMatchesCertificate, maxMessageBytes, maxPendingRequests, maxHosts, ackEvery,
        ackDelay, interval, timeout, requestTimeout, helloTimeout);
  }
}
