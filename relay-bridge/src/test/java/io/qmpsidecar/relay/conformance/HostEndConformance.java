package io.qmpsidecar.relay.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.HostEndFixture.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The promises docs/relay-protocol.md makes about the host end, one test each, checked on the
 * wire: a {@link WireDpu} plays the DPU with hand-written JSON, the host end under test is
 * whatever {@link #newHost} returns. Extend it with a fixture to check a host end.
 */
public abstract class HostEndConformance {

  protected static final String DPU_ID = "wire-dpu";

  @TempDir protected Path dir;
  protected Vertx vertx;
  protected WireDpu dpu;
  protected HostEndFixture host;
  private int nextId = 100;

  /** A new, not yet started host end whose durable state lives under {@code dir}. */
  protected abstract HostEndFixture newHost(Path dir);

  @BeforeEach
  void startWireDpu() {
    vertx = Vertx.vertx();
    dpu = new WireDpu(vertx);
    host = newHost(dir);
  }

  @AfterEach
  void stopAll() {
    try {
      host.close();
    } finally {
      dpu.close();
      Wire.await(vertx.close());
    }
  }

  protected Settings settings() {
    return Settings.forUrl(dpu.url("/relay"));
  }

  /** Starts the host end, answers its hello with {@code lastAcked}, and returns the link. */
  protected WireLink connect(Settings settings, long lastAcked) {
    host.start(settings);
    return answerHello(dpu.awaitLink(), lastAcked);
  }

  protected WireLink connect() {
    return connect(settings(), 0);
  }

  protected JsonObject awaitHello(WireLink link) {
    return link.nextMatching("relay.hello", m -> "relay.hello".equals(m.getString("method")));
  }

  protected WireLink answerHello(WireLink link, long lastAcked) {
    JsonObject hello = awaitHello(link);
    link.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, lastAcked).encode());
    return link;
  }

  protected int id() {
    return nextId++;
  }

  protected JsonObject call(WireLink link, String method, JsonObject params) {
    return link.call(id(), method, params);
  }

  /** A vm.list request padded with an unknown member to {@code bytes} bytes in all. */
  protected static String paddedVmList(int id, int bytes) {
    String head = "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"vm.list\",\"params\":{\"pad\":\"";
    String tail = "\"}}";
    return head + "x".repeat(bytes - head.length() - tail.length()) + tail;
  }

  // ---- Transport ----

  @Test
  void hostDialsThePathOfItsUrl() {
    host.start(Settings.forUrl(dpu.url("/dpu/v1/relay")));

    answerHello(dpu.awaitLink(), 0);

    assertThat(dpu.paths()).containsExactly("/dpu/v1/relay");
  }

  @Test
  void aSingleFrameUpToMaxMessageBytesIsServed() {
    WireLink link = connect(settings().withMaxMessageBytes(256 * 1024), 0);

    link.send(paddedVmList(7, 256 * 1024));

    assertThat(Wire.resultOf(link.answerTo(7)).getMap()).containsKey("vms");
    assertThat(link.isClosed()).isFalse();
  }

  @Test
  void aSingleFrameOverMaxMessageBytesIsAnsweredMessageTooLargeAndTheLinkStaysUp() {
    WireLink link = connect(settings().withMaxMessageBytes(256 * 1024), 0);

    link.send(paddedVmList(8, 300 * 1024));
    JsonObject tooLarge = link.nextMatching("an error", m -> m.containsKey("error"));
    JsonObject after = call(link, "vm.list", new JsonObject());

    assertThat(tooLarge.getValue("id")).isNull();
    assertThat(Wire.errorCode(tooLarge)).isEqualTo(-32010);
    assertThat(Wire.resultOf(after).getMap()).containsKey("vms");
  }

  @Test
  void aFragmentedMessageOverMaxMessageBytesIsAnsweredMessageTooLargeAndTheLinkStaysUp() {
    WireLink link = connect(settings().withMaxMessageBytes(256 * 1024), 0);

    link.sendFragmented(paddedVmList(9, 1024 * 1024), 16 * 1024);
    JsonObject tooLarge = link.nextMatching("an error", m -> m.containsKey("error"));
    JsonObject after = call(link, "vm.list", new JsonObject());

    assertThat(tooLarge.getValue("id")).isNull();
    assertThat(Wire.errorCode(tooLarge)).isEqualTo(-32010);
    assertThat(Wire.resultOf(after).getMap()).containsKey("vms");
  }

  @Test
  void binaryMessagesAreInvalidRequestsAndTheLinkStaysUp() {
    WireLink link = connect();

    link.sendBinary(new byte[] {1, 2, 3});
    JsonObject error = link.nextMatching("an error", m -> m.containsKey("error"));

    assertThat(Wire.errorCode(error)).isEqualTo(-32600);
    assertThat(Wire.resultOf(call(link, "vm.list", new JsonObject())).getMap()).containsKey("vms");
  }

  // ---- Envelope ----

  @Test
  void invalidJsonIsAParseErrorWithNullId() {
    WireLink link = connect();

    link.send("{\"jsonrpc\":\"2.0\",\"id\":3,");
    JsonObject error = link.nextMatching("an error", m -> m.containsKey("error"));

    assertThat(error.containsKey("id")).isTrue();
    assertThat(error.getValue("id")).isNull();
    assertThat(Wire.errorCode(error)).isEqualTo(-32700);
  }

  @Test
  void batchesNonObjectsAndAWrongVersionAreInvalidRequests() {
    WireLink link = connect();

    link.send("[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"vm.list\",\"params\":{}}]");
    JsonObject batch = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send("\"vm.list\"");
    JsonObject string = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send("{\"jsonrpc\":\"1.0\",\"id\":4,\"method\":\"vm.list\",\"params\":{}}");
    JsonObject version = link.nextMatching("an error", m -> m.containsKey("error"));

    assertThat(Wire.errorCode(batch)).isEqualTo(-32600);
    assertThat(Wire.errorCode(string)).isEqualTo(-32600);
    assertThat(Wire.errorCode(version)).isEqualTo(-32600);
    assertThat(version.getValue("id")).isEqualTo(4);
  }

  @Test
  void paramsThatAreNotAnObjectAreInvalidParams() {
    WireLink link = connect();

    link.send("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"vm.list\",\"params\":[]}");

    assertThat(Wire.errorCode(link.answerTo(5))).isEqualTo(-32602);
  }

  @Test
  void unknownRequestMethodsAreMethodNotFound() {
    WireLink link = connect();

    JsonObject answer = call(link, "vm.migrate", new JsonObject().put("vm", host.vm()));

    assertThat(Wire.errorCode(answer)).isEqualTo(-32601);
  }

  @Test
  void unknownNotificationsAndUnknownMembersAreIgnored() {
    WireLink link = connect();

    link.send(Wire.notification("dpu.future-thing", new JsonObject().put("x", 1)).encode());
    link.send("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"vm.list\",\"params\":{\"future\":true},\"trace\":\"t-1\"}");

    assertThat(Wire.resultOf(link.answerTo(6)).getMap()).containsKey("vms");
  }

  @Test
  void idsMayBeStringsAndAreEchoed() {
    WireLink link = connect();

    JsonObject answer = link.call("req-a", "vm.list", new JsonObject());

    assertThat(answer.getValue("id")).isEqualTo("req-a");
  }

  // ---- Handshake ----

  @Test
  void helloComesFirstWithEveryDocumentedMember() {
    host.start(settings());
    WireLink link = dpu.awaitLink();

    JsonObject first = link.next();

    assertThat(first.getString("method")).isEqualTo("relay.hello");
    assertThat(first.containsKey("id")).isTrue();
    JsonObject p = first.getJsonObject("params");
    assertThat(p.getJsonArray("versions").getList()).contains(1);
    assertThat(p.getString("hostId")).isEqualTo(host.hostId());
    assertThat(p.getValue("epoch")).isInstanceOf(Number.class);
    assertThat(p.getLong("lastSeq")).isNotNegative();
    assertThat(p.getLong("lastAcked")).isNotNegative().isLessThanOrEqualTo(p.getLong("lastSeq"));
    assertThat(p.getLong("firstRetained")).isPositive();
    assertThat(p.getValue("capabilities")).isInstanceOf(JsonArray.class);
  }

  @Test
  void requestsRacingTheHelloAreNotReady() {
    host.start(settings());
    WireLink link = dpu.awaitLink();
    JsonObject hello = awaitHello(link);

    JsonObject early = call(link, "vm.list", new JsonObject());
    link.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, 0).encode());

    assertThat(Wire.errorCode(early)).isEqualTo(-32015);
    assertThat(Wire.resultOf(call(link, "vm.list", new JsonObject())).getMap()).containsKey("vms");
  }

  @Test
  void noCommonVersionMakesTheHostDialAgain() {
    host.start(settings());
    WireLink first = dpu.awaitLink();
    JsonObject hello = awaitHello(first);

    first.send(Wire.error(hello.getValue("id"), -32014, "no common protocol version",
        new JsonObject().put("supported", new JsonArray().add(9))).encode());
    first.close();

    answerHello(dpu.awaitLink(Duration.ofSeconds(40)), 0);
  }

  // ---- Heartbeats ----

  @Test
  void hostPingsAndDropsASilentDpuThenDialsAgain() {
    Duration interval = Duration.ofMillis(200);
    Duration timeout = Duration.ofMillis(1000);
    WireLink link = connect(settings().withHeartbeat(interval, timeout), 0);
    long quietSince = System.nanoTime();

    link.nextReceived(Wire.PING, m -> Wire.PING.equals(m.getString("method")), Duration.ofSeconds(5));
    link.awaitClosed(Duration.ofSeconds(10));
    long silentMs = (link.closedAtNanos() - quietSince) / 1_000_000;

    assertThat(silentMs).as("dropped after heartbeatTimeout, within one interval more (plus load)")
        .isBetween(timeout.toMillis() - 50, timeout.toMillis() + interval.toMillis() + 2000);
    answerHello(dpu.awaitLink(Duration.ofSeconds(40)), 0);
  }
}
