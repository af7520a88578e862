package io.qmpsidecar.relay.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.DpuEndFixture.Delivered;
import io.qmpsidecar.relay.conformance.DpuEndFixture.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The promises docs/relay-protocol.md makes about the DPU end, one test each, checked on the
 * wire: a {@link WireHost} plays the host with hand-written JSON, the DPU end under test is
 * whatever {@link #newDpu} returns. Extend it with a fixture to check a DPU end.
 */
public abstract class DpuEndConformance {

  protected static final String HOST_ID = "wire-host";

  protected Vertx vertx;
  protected WireHost wire;
  protected DpuEndFixture dpu;
  private int nextId = 1;

  /** A new, not yet started DPU end. */
  protected abstract DpuEndFixture newDpu();

  @BeforeEach
  void startWireHost() {
    vertx = Vertx.vertx();
    wire = new WireHost(vertx);
    dpu = newDpu();
  }

  @AfterEach
  void stopAll() {
    try {
      dpu.close();
    } finally {
      wire.close();
      Wire.await(vertx.close());
    }
  }

  /** Starts the DPU end, opens a link and completes the hello; returns the link. */
  protected WireLink helloed(Settings settings) {
    URI url = dpu.start(settings);
    WireLink link = wire.connect(url);
    hello(link);
    return link;
  }

  protected JsonObject hello(WireLink link) {
    return Wire.resultOf(link.call(nextId++, "relay.hello", Wire.hello(0, HOST_ID, 7, 0).getJsonObject("params")));
  }

  protected static String event(long seq, String name) {
    return Wire.notification("vm.lifecycle", new JsonObject().put("seq", seq).put("vm", "vm1").put("event", name))
        .encode();
  }

  /** The next relay.ack at or above {@code seq}. */
  protected static long ackReaching(WireLink link, long seq) {
    return link.nextMatching("relay.ack up to " + seq, m -> "relay.ack".equals(m.getString("method"))
        && m.getJsonObject("params").getLong("seq") >= seq).getJsonObject("params").getLong("seq");
  }

  protected static String padded(String method, int bytes) {
    String head = "{\"jsonrpc\":\"2.0\",\"method\":\"" + method + "\",\"params\":{\"seq\":1,\"pad\":\"";
    String tail = "\"}}";
    return head + "x".repeat(bytes - head.length() - tail.length()) + tail;
  }

  // ---- Transport ----

  @Test
  void theDpuServesItsPathAndRefusesOthers() {
    URI url = dpu.start(Settings.defaults().withPath("/dpu/v1/relay"));

    Throwable refused = wire.refusal(URI.create("ws://127.0.0.1:" + url.getPort() + "/relay"));
    WireLink link = wire.connect(url);

    assertThat(refused).hasMessageContaining("404");
    assertThat(hello(link).getInteger("version")).isEqualTo(1);
  }

  @Test
  void aSingleFrameUpToMaxMessageBytesIsProcessed() {
    WireLink link = helloed(Settings.defaults().withMaxMessageBytes(256 * 1024));

    link.send(padded("vm.lifecycle", 256 * 1024));

    assertThat(ackReaching(link, 1)).isEqualTo(1);
  }

  @Test
  void aSingleFrameOverMaxMessageBytesIsAnsweredMessageTooLargeAndTheLinkStaysUp() {
    WireLink link = helloed(Settings.defaults().withMaxMessageBytes(256 * 1024));

    link.send(padded("vm.lifecycle", 300 * 1024));
    JsonObject error = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send(event(1, "STOP"));

    assertThat(error.getValue("id")).isNull();
    assertThat(Wire.errorCode(error)).isEqualTo(-32010);
    assertThat(ackReaching(link, 1)).isEqualTo(1);
  }

  @Test
  void aFragmentedMessageOverMaxMessageBytesIsAnsweredMessageTooLargeAndTheLinkStaysUp() {
    WireLink link = helloed(Settings.defaults().withMaxMessageBytes(256 * 1024));

    link.sendFragmented(padded("vm.lifecycle", 1024 * 1024), 16 * 1024);
    JsonObject error = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send(event(1, "STOP"));

    assertThat(Wire.errorCode(error)).isEqualTo(-32010);
    assertThat(ackReaching(link, 1)).isEqualTo(1);
  }

  @Test
  void badMessagesGetErrorsAndTheLinkStaysUp() {
    WireLink link = helloed(Settings.defaults());

    link.send("{\"jsonrpc\":\"2.0\",\"id\":2,");
    JsonObject parse = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send("[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\"}]");
    JsonObject batch = link.nextMatching("an error", m -> m.containsKey("error"));
    link.sendBinary(new byte[] {7});
    JsonObject binary = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send(event(1, "STOP"));

    assertThat(parse.getValue("id")).isNull();
    assertThat(Wire.errorCode(parse)).isEqualTo(-32700);
    assertThat(Wire.errorCode(batch)).isEqualTo(-32600);
    assertThat(Wire.errorCode(binary)).isEqualTo(-32600);
    assertThat(ackReaching(link, 1)).isEqualTo(1);
  }

  @Test
  void hostRequestsOtherThanHelloAreMethodNotFound() {
    WireLink link = helloed(Settings.defaults());

    JsonObject answer = link.call(50, "device.attach", new JsonObject());

    assertThat(Wire.errorCode(answer)).isEqualTo(-32601);
  }

  @Test
  void theDpuPingsAndDropsASilentHost() {
    Duration interval = Duration.ofMillis(200);
    Duration timeout = Duration.ofMillis(1000);
    WireLink link = wire.connect(dpu.start(Settings.defaults().withHeartbeat(interval, timeout)));
    // The DPU's silence begins when it reads the hello: taken before it is sent, so never late.
    long quietSince = System.nanoTime();
    hello(link);

    link.nextReceived(Wire.PING, m -> Wire.PING.equals(m.getString("method")), Duration.ofSeconds(5));
    link.awaitClosed(Duration.ofSeconds(10));

    assertThat((link.closedAtNanos() - quietSince) / 1_000_000)
        .isBetween(timeout.toMillis() - 50, timeout.toMillis() + interval.toMillis() + 2000);
  }

  // ---- Handshake ----

  @Test
  void helloIsAnsweredWithVersionDpuIdEpochAndLastAcked() {
    WireLink link = wire.connect(dpu.start(Settings.defaults()));

    JsonObject answer = hello(link);

    assertThat(answer.getInteger("version")).isEqualTo(1);
    assertThat(answer.getString("dpuId")).isEqualTo(dpu.dpuId());
    assertThat(answer.getValue("epoch")).isInstanceOf(Number.class);
    assertThat(answer.getLong("lastAcked")).isZero();
    assertThat(answer.getValue("capabilities")).isInstanceOf(JsonArray.class);
  }

  @Test
  void noCommonVersionIsRefusedWithTheSupportedOnesAndTheLinkClosed() {
    WireLink link = wire.connect(dpu.start(Settings.defaults()));
    JsonObject hello = Wire.hello(1, HOST_ID, 7, 0);
    hello.getJsonObject("params").put("versions", new JsonArray().add(7).add(8));

    link.send(hello.encode());
    JsonObject answer = link.answerTo(1);

    assertThat(Wire.errorCode(answer)).isEqualTo(-32014);
    assertThat(answer.getJsonObject("error").getJsonObject("data").getJsonArray("supported").getList()).contains(1);
    link.awaitClosed(Duration.ofSeconds(5));
  }

  @Test
  void aLinkThatSendsNoHelloIsClosedAfterHelloTimeout() {
    WireLink link = wire.connect(dpu.start(Settings.defaults().withHelloTimeout(Duration.ofMillis(500))));

    link.awaitClosed(Duration.ofSeconds(10));
  }

  @Test
  void aSecondHelloIsAnInvalidRequest() {
    WireLink link = helloed(Settings.defaults());

    JsonObject again = link.call(9, "relay.hello", Wire.hello(0, HOST_ID, 7, 0).getJsonObject("params"));

    assertThat(Wire.errorCode(again)).isEqualTo(-32600);
  }

  @Test
  void notificationsBeforeTheHelloAreNotProcessed() {
    WireLink link = wire.connect(dpu.start(Settings.defaults()));

    link.send(event(1, "EARLY"));
    JsonObject answer = hello(link);

    assertThat(answer.getLong("lastAcked")).isZero();
  }

  // ---- Sequence numbers and acks ----

  @Test
  void notificationsAreAckedCumulativelyAndLastAckedSurvivesAReconnect() {
    URI url = dpu.start(Settings.defaults());
    WireLink link = wire.connect(url);
    hello(link);

    for (int seq = 1; seq <= 3; seq++) {
      link.send(event(seq, "E" + seq));
    }
    long acked = ackReaching(link, 3);
    link.close();
    WireLink again = wire.connect(url);

    assertThat(acked).isEqualTo(3);
    assertThat(hello(again).getLong("lastAcked")).isEqualTo(3);
  }

  @Test
  void duplicatesAreDroppedAndAckedAgain() {
    WireLink link = helloed(Settings.defaults());

    for (int seq : new int[] {1, 2, 2, 1, 3}) {
      link.send(event(seq, "E" + seq));
    }
    ackReaching(link, 3);
    link.send(event(2, "E2"));

    assertThat(ackReaching(link, 3)).isEqualTo(3);
    dpu.delivered().ifPresent(d -> assertThat(d).extracting(Delivered::seq).containsExactly(1L, 2L, 3L));
  }

  @Test
  void aGapClosesTheLinkSoTheHostResends() {
    URI url = dpu.start(Settings.defaults());
    WireLink link = wire.connect(url);
    hello(link);

    link.send(event(1, "E1"));
    ackReaching(link, 1);
    link.send(event(3, "E3"));
    link.awaitClosed(Duration.ofSeconds(5));

    assertThat(hello(wire.connect(url)).getLong("lastAcked")).isEqualTo(1);
  }

  @Test
  void unknownNotificationMethodsWithASeqAreAckedLikeAnyOther() {
    WireLink link = helloed(Settings.defaults());

    link.send(Wire.notification("host.future-thing", new JsonObject().put("seq", 1).put("x", true)).encode());

    assertThat(ackReaching(link, 1)).isEqualTo(1);
  }

  @Test
  void aSnapshotNumberedAfterLastAckedIsAppliedEvenOverAGap() {
    WireLink link = helloed(Settings.defaults());
    link.send(event(1, "E1"));
    ackReaching(link, 1);

    link.send(Wire.notification("state.snapshot", new JsonObject().put("seq", 40)
        .put("vms", new JsonArray()).put("devices", new JsonArray())).encode());
    long afterSnapshot = ackReaching(link, 40);
    link.send(event(41, "E41"));

    assertThat(afterSnapshot).isEqualTo(40);
    assertThat(ackReaching(link, 41)).isEqualTo(41);
    dpu.delivered().ifPresent(d -> assertThat(d).extracting(Delivered::method)
        .containsExactly("vm.lifecycle", "state.snapshot", "vm.lifecycle"));
  }

  @Test
  void aSnapshotAtOrBelowLastAckedIsADuplicate() {
    WireLink link = helloed(Settings.defaults());
    for (int seq = 1; seq <= 5; seq++) {
      link.send(event(seq, "E" + seq));
    }
    ackReaching(link, 5);

    link.send(Wire.notification("state.snapshot", new JsonObject().put("seq", 5)
        .put("vms", new JsonArray()).put("devices", new JsonArray())).encode());

    assertThat(ackReaching(link, 5)).isEqualTo(5);
    dpu.delivered().ifPresent(d -> assertThat(d).extracting(Delivered::method).doesNotContain("state.snapshot"));
  }
}
