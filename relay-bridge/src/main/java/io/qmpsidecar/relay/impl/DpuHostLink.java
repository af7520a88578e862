package io.qmpsidecar.relay.impl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.codec.RpcMessage;
import io.vertx.core.Vertx;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's connection at the DPU end: answers its hello with the last sequence processed,
 * delivers each notification once and in order (duplicates from a resend are dropped, a gap closes
 * the link so the host resends), and acknowledges in batches. Runs on the endpoint's context only.
 */
final class DpuHostLink implements RpcPeer.Inbound {

  private static final Logger log = LoggerFactory.getLogger(DpuHostLink.class);

  private final Vertx vertx;
  private final DpuEndpointImpl endpoint;
  private final DpuEndpointOptions options;
  private final RpcPeer peer;
  private final String certificateName;
  private String hostId;
  private long epoch;
  private long helloTimer = -1;
  private long ackTimer = -1;
  private int unacked;

  /** @param certificateName the client certificate's CN, or null on a plain link */
  DpuHostLink(Vertx vertx, DpuEndpointImpl endpoint, DpuEndpointOptions options, RpcPeer peer,
      String certificateName) {
    this.vertx = vertx;
    this.endpoint = endpoint;
    this.options = options;
    this.peer = peer;
    this.certificateName = certificateName;
  }

  void start() {
    peer.start(this);
    helloTimer = vertx.setTimer(options.helloTimeout().toMillis(), t -> peer.close(
        "no relay.hello within " + options.helloTimeout().toMillis() + " ms; the host must send it first"));
  }

  RpcPeer peer() {
    return peer;
  }

  String hostId() {
    return hostId;
  }

  void close(String reason) {
    peer.close(reason);
  }

  @Override
  public void request(RpcMessage.Request request) {
    if (!RelayMethods.HELLO.equals(request.method())) {
      peer.respondError(request.id(), RelayError.of(ErrorCode.METHOD_NOT_FOUND, "the DPU end serves only "
          + RelayMethods.HELLO + "; " + request.method() + " is not a host-to-DPU request"));
      return;
    }
    if (hostId != null) {
      peer.respondError(request.id(), RelayError.of(ErrorCode.INVALID_REQUEST,
          "relay.hello was already answered on this link; reconnect to start a new session"));
      return;
    }
    RelayError refusal = hello(request.params());
    if (refusal != null) {
      log.warn("refused a host's hello: {}", refusal.message());
      peer.respondError(request.id(), refusal);
      vertx.setTimer(100, t -> peer.close(refusal.message()));
      return;
    }
    vertx.cancelTimer(helloTimer);
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("version", RelayMethods.PROTOCOL_VERSION);
    answer.put("dpuId", options.dpuId());
    answer.put("epoch", endpoint.epoch());
    answer.put("lastAcked", endpoint.lastSeq(hostId));
    answer.put("capabilities", List.of("snapshot"));
    peer.respond(request.id(), answer);
    endpoint.hostUp(this, epoch);
  }

  private RelayError hello(JsonNode params) {
    JsonNode versions = params.get("versions");
    boolean speaks = false;
    if (versions != null && versions.isArray()) {
      for (JsonNode v : versions) {
        speaks |= v.asInt(-1) == RelayMethods.PROTOCOL_VERSION;
      }
    }
    if (!speaks) {
      return new RelayError(ErrorCode.UNSUPPORTED_VERSION, "no common protocol version: the host offers "
          + versions + ", this DPU speaks " + RelayMethods.PROTOCOL_VERSION + "; upgrade one of the ends",
          Map.of("supported", List.of(RelayMethods.PROTOCOL_VERSION)));
    }
    String id = params.path("hostId").asText("");
    if (id.isBlank()) {
      return new RelayError(ErrorCode.INVALID_PARAMS, "relay.hello has no hostId; configure the sidecar's host id",
          Map.of("member", "hostId"));
    }
    if (certificateName != null && options.requireHostIdMatchesCertificate() && !certificateName.equals(id)) {
      String reason = "hostId " + id + " does not match the client certificate's CN " + certificateName;
      return new RelayError(ErrorCode.POLICY_DENIED, reason + "; issue the host a certificate for its own id",
          Map.of("rule", "requireHostIdMatchesCertificate", "reason", reason));
    }
    String problem = endpoint.admit(id);
    if (problem != null) {
      return new RelayError(ErrorCode.TOO_MANY_REQUESTS, problem, Map.of("limit", options.maxHosts()));
    }
    hostId = id;
    epoch = params.path("epoch").asLong(0);
    return null;
  }

  @Override
  public void notification(RpcMessage.Notification n) {
    if (hostId == null) {
      log.warn("notification {} before relay.hello; dropped", n.method());
      return;
    }
    JsonNode seqNode = n.params().get(Notification.SEQ);
    if (seqNode == null || !seqNode.canConvertToLong()) {
      log.warn("host {} sent {} without a seq; dropped", hostId, n.method());
      return;
    }
    long seq = seqNode.asLong();
    long last = endpoint.lastSeq(hostId);
    if (seq <= last) {
      scheduleAck();
      return;
    }
    boolean snapshot = RelayMethods.STATE_SNAPSHOT.equals(n.method());
    if (seq != last + 1 && !snapshot) {
      if (unacked > 0) {
        // What was processed is acked before the link closes: the host need not resend it.
        ack();
      }
      peer.close("host " + hostId + " sent seq " + seq + " after " + last + "; closing so it resends from "
          + last + " (its outbox or snapshot logic is broken if this repeats)");
      return;
    }
    endpoint.processed(hostId, seq);
    ObjectNode params = ((ObjectNode) n.params()).deepCopy();
    params.remove(Notification.SEQ);
    endpoint.deliver(new ReceivedNotification(hostId, seq, n.method(), JsonRpcCodec.toMap(params)));
    unacked++;
    if (unacked >= options.ackEvery()) {
      ack();
    } else {
      scheduleAck();
    }
  }

  private void scheduleAck() {
    if (ackTimer < 0) {
      ackTimer = vertx.setTimer(options.ackDelay().toMillis(), t -> {
        ackTimer = -1;
        ack();
      });
    }
  }

  private void ack() {
    if (ackTimer >= 0) {
      vertx.cancelTimer(ackTimer);
      ackTimer = -1;
    }
    unacked = 0;
    peer.write(JsonRpcCodec.notification(RelayMethods.ACK, Map.of("seq", endpoint.lastSeq(hostId))));
  }

  @Override
  public void closed(Throwable cause) {
    vertx.cancelTimer(helloTimer);
    if (ackTimer >= 0) {
      vertx.cancelTimer(ackTimer);
    }
    if (hostId != null) {
      endpoint.hostDown(this, epoch, cause);
    }
  }
}
