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

/** The DPU end against a raw client: handshake rules, bad messages, sequence handling. */
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
  void helloIsAnsweredWithVersionAndLastAcked() {
    peer.send(HELLO);

    JsonObject answer = peer.next().getJsonObject("result");

    assertThat(answer.getInteger("version")).isEqualTo(1);
    assertThat(answer.getString("dpuId")).isEqualTo("dpu-test");
    assertThat(answer.getLong("lastAcked")).isZero();
    Await.until("raw-host registered", () -> dpu.connectedHosts().contains("raw-host"));
  }

  @Test
  void helloWithoutACommonVersionIsRefusedAndTheLinkClosed() {
    peer.send(HELLO.replace("\"versions\":[1]", "\"versions\":[7,8]"));

    JsonObject error = peer.next().getJsonObject("error");

    assertThat(error.getInteger("code")).isEqualTo(ErrorCode.UNSUPPORTED_VERSION.wireCode());
    assertThat(error.getString("message")).contains("no common protocol version");
    assertThat(error.getJsonObject("data").getJsonArray("supported").getList()).containsExactly(1);
    Await.until("the link to close", peer::isClosed);
    assertThat(dpu.connectedHosts()).isEmpty();
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
  void duplicatesAreDroppedAndAckedAndAGapClosesTheLink() {
    peer.send(HELLO);
    peer.next();

    for (int seq : new int[] {1, 2, 2, 1, 3}) {
      peer.send("{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":" + seq
          + ",\"vm\":\"vm1\",\"event\":\"E" + seq + "\"}}");
    }
    JsonObject ack = peer.next();
    while (ack.getJsonObject("params").getLong("seq") < 3) {
      ack = peer.next();
    }
    peer.send("{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":5,\"vm\":\"vm1\",\"event\":\"E5\"}}");

    assertThat(ack.getString("method")).isEqualTo("relay.ack");
    assertThat(received).extracting(ReceivedNotification::seq).containsExactly(1L, 2L, 3L);
    Await.until("the link to close on the gap", peer::isClosed);
    assertThat(dpu.lastSeq("raw-host")).isEqualTo(3);
  }

  @Test
  void requestsBeforeHelloAreRefused() {
    peer.send("{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":1}}");
    peer.send(HELLO);

    JsonObject answer = peer.next();

    assertThat(answer.getJsonObject("result").getLong("lastAcked")).isZero();
    assertThat(received).isEmpty();
  }
}
