package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.RawPeer;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The DPU end against a raw client sending several bad messages in a row; every other promise of
 * the DPU end is in {@link DpuEndpointConformanceTest}.
 */
class DpuEndpointProtocolTest {

  private static final String HELLO = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"relay.hello\",\"params\":"
      + "{\"versions\":[1],\"hostId\":\"raw-host\",\"epoch\":4,\"lastSeq\":0,\"lastAcked\":0,\"firstRetained\":1}}";

  Vertx vertx;
  DpuEndpoint dpu;
  RawPeer peer;
  final List<ReceivedNotification> received = new CopyOnWriteArrayList<>();

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    dpu = Await.result(DpuEndpoint.listen(vertx, DpuEndpointOptions.defaults().withDpuId("dpu-test")
        .withMaxMessageBytes(64 * 1024)));
    dpu.notificationHandler(received::add);
    peer = new RawPeer(vertx, dpu.actualPort());
  }

  @AfterEach
  void stop() {
    peer.close();
    Await.result(dpu.close());
    Await.result(vertx.close());
  }

  @Test
  void malformedAndOversizedMessagesGetErrorsAndTheLinkStaysUp() {
    peer.send(HELLO);
    peer.next();

    peer.send("{\"jsonrpc\":\"2.0\",\"id\":2,");
    JsonObject parse = peer.next();
    peer.send("[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\"}]");
    JsonObject batch = peer.next();
    peer.send("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"x\",\"params\":\"" + "a".repeat(200_000) + "\"}");
    JsonObject oversized = peer.next();
    peer.send("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"device.attach\",\"params\":{}}");
    JsonObject unknown = peer.next();
    peer.send("{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":1,\"vm\":\"vm1\",\"event\":\"STOP\",\"future\":true}}");

    assertThat(parse.getValue("id")).isNull();
    assertThat(parse.getJsonObject("error").getInteger("code")).isEqualTo(-32700);
    assertThat(batch.getJsonObject("error").getInteger("code")).isEqualTo(-32600);
    assertThat(oversized.getValue("id")).isNull();
    assertThat(oversized.getJsonObject("error").getInteger("code")).isEqualTo(-32010);
    assertThat(oversized.getJsonObject("error").getString("message")).contains("exceeds the limit of 65536 bytes");
    assertThat(unknown.getInteger("id")).isEqualTo(5);
    assertThat(unknown.getJsonObject("error").getInteger("code")).isEqualTo(-32601);
    Await.until("the notification after the bad messages", () -> received.size() == 1);
    assertThat(received.get(0).params()).containsEntry("vm", "vm1").containsEntry("future", true);
    assertThat(peer.isClosed()).isFalse();
  }

  @Test
  void refusedHellosCarryTheDataTheErrorTableNames() {
    Vertx other = Vertx.vertx();
    DpuEndpoint one = Await.result(DpuEndpoint.listen(other, DpuEndpointOptions.defaults().withMaxHosts(1)));
    RawPeer first = new RawPeer(other, one.actualPort());
    RawPeer second = new RawPeer(other, one.actualPort());
    try {
      peer.send(HELLO.replace("\"hostId\":\"raw-host\",", ""));
      JsonObject noHostId = peer.next().getJsonObject("error");
      first.send(HELLO);
      first.next();
      second.send(HELLO.replace("raw-host", "raw-host-2"));
      JsonObject tooMany = second.next().getJsonObject("error");

      assertThat(noHostId.getInteger("code")).isEqualTo(-32602);
      assertThat(noHostId.getJsonObject("data").getString("member")).isEqualTo("hostId");
      Await.until("the refused hello's link is closed", peer::isClosed);
      assertThat(tooMany.getInteger("code")).isEqualTo(-32011);
      assertThat(tooMany.getString("message")).contains("raise maxHosts");
      assertThat(tooMany.getJsonObject("data").getInteger("limit")).isEqualTo(1);
    } finally {
      first.close();
      second.close();
      Await.result(one.close());
      Await.result(other.close());
    }
  }

  @Test
  void aGapClosesTheLinkAfterAckingWhatWasProcessed() {
    Vertx other = Vertx.vertx();
    DpuEndpoint lazy = Await.result(DpuEndpoint.listen(other, DpuEndpointOptions.defaults()
        .withAckDelay(java.time.Duration.ofMinutes(1))));
    RawPeer host = new RawPeer(other, lazy.actualPort());
    try {
      host.send(HELLO);
      host.next();
      for (int seq : new int[] {1, 2, 4}) {
        host.send("{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":" + seq
            + ",\"vm\":\"vm1\",\"event\":\"STOP\"}}");
      }
      JsonObject ack = host.next();

      assertThat(ack.getString("method")).isEqualTo("relay.ack");
      assertThat(ack.getJsonObject("params").getLong("seq")).as("1 and 2, processed before the gap").isEqualTo(2);
      Await.until("the DPU closes the link on the gap", host::isClosed);
    } finally {
      host.close();
      Await.result(lazy.close());
      Await.result(other.close());
    }
  }
}
