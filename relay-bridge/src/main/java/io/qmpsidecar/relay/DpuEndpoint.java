package io.qmpsidecar.relay;

import io.qmpsidecar.relay.impl.DpuEndpointImpl;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.Set;

/**
 * The DPU end of the relay: listens for hosts, answers their hello with the last sequence it
 * processed, delivers their notifications exactly once and in order, acknowledges them, and
 * sends requests to them. A DPU-side agent embeds it.
 */
public interface DpuEndpoint {

  /**
   * @return completes with the listening endpoint; fails with {@link RelayConnectionException}
   *     when the port cannot be bound or the TLS files cannot be read, and with
   *     {@link IllegalArgumentException} when plain transport is asked on a non-loopback address
   */
  static Future<DpuEndpoint> listen(Vertx vertx, DpuEndpointOptions options) {
    return DpuEndpointImpl.listen(vertx, options);
  }

  /** The bound port (useful with port 0). */
  int actualPort();

  /**
   * Receives every notification once, in order, per host; it is acknowledged after the handler
   * returns. Called on the endpoint's context; must not block.
   */
  DpuEndpoint notificationHandler(Handler<ReceivedNotification> handler);

  /** Told when a host completes its hello and when its link closes. */
  DpuEndpoint hostHandler(Handler<HostLinkEvent> handler);

  /**
   * Sends a request to a connected host.
   *
   * @return completes with the host's result object; fails with {@link RelayErrorException}
   *     carrying the host's error (policy denied, QEMU error, ...), {@link RelayTimeoutException},
   *     {@link RelayConnectionException} when the host is not connected or the link drops, and
   *     {@link RelayOverloadedException} when {@link DpuEndpointOptions#maxPendingRequests} wait
   */
  Future<Map<String, Object>> request(String hostId, String method, Map<String, Object> params);

  /** Ids of the hosts whose link is up. */
  Set<String> connectedHosts();

  /** The last sequence number processed from a host, 0 when none. */
  long lastSeq(String hostId);

  /** Closes every link and the listening socket. */
  Future<Void> close();
}
