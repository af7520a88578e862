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

  // ---- Requests: params ----

  /** Params of a device.attach to {@link #host}'s VM that would be accepted. */
  protected JsonObject attachParams() {
    return new JsonObject().put("opId", "op-" + id()).put("vm", host.vm()).put("bdf", "0000:03:00.1")
        .put("deviceId", "dpu-nic" + id());
  }

  /** The answer to a device.attach with member {@code member} set to {@code value}. */
  private JsonObject attachWith(WireLink link, String member, Object value) {
    return call(link, "device.attach", attachParams().put(member, value));
  }

  private JsonObject attachWithout(WireLink link, String member) {
    JsonObject p = attachParams();
    p.remove(member);
    return call(link, "device.attach", p);
  }

  private static void assertInvalidParams(JsonObject answer, String member) {
    assertThat(Wire.errorCode(answer)).as(answer.encode()).isEqualTo(-32602);
    JsonObject error = answer.getJsonObject("error");
    assertThat(error.getString("message")).contains("\"" + member + "\"");
    assertThat(error.getJsonObject("data").getString("member")).isEqualTo(member);
  }

  @Test
  void missingRequiredParamsAreInvalidParamsNamingTheMember() {
    WireLink link = connect();

    for (String member : new String[] {"opId", "vm", "bdf"}) {
      assertInvalidParams(attachWithout(link, member), member);
    }
    assertInvalidParams(call(link, "device.detach", new JsonObject().put("opId", "d-1").put("vm", host.vm())),
        "deviceId");
  }

  @Test
  void mistypedParamsAreInvalidParamsNamingTheMemberBeforeThePolicyDecides() {
    WireLink link = connect();

    assertInvalidParams(attachWith(link, "deviceId", 5), "deviceId");
    assertInvalidParams(attachWith(link, "vm", new JsonArray().add("vm1")), "vm");
    assertInvalidParams(attachWith(link, "bdf", true), "bdf");
    assertInvalidParams(attachWith(link, "opId", new JsonObject()), "opId");
    assertInvalidParams(call(link, "device.list", new JsonObject().put("vm", 1)), "vm");
  }

  @Test
  void malformedValuesAreInvalidParamsNamingTheMember() {
    WireLink link = connect();

    assertInvalidParams(attachWith(link, "opId", "o".repeat(129)), "opId");
    assertInvalidParams(attachWith(link, "opId", ""), "opId");
    assertInvalidParams(attachWith(link, "bdf", "03:00.1"), "bdf");
    assertInvalidParams(attachWith(link, "deviceId", "1dpu"), "deviceId");
    assertInvalidParams(attachWith(link, "deviceId", "dpu nic"), "deviceId");
    assertInvalidParams(attachWith(link, "vm", ""), "vm");
  }

  // ---- Requests: lists and lookups ----

  @Test
  void deviceListWithoutVmListsTheDevicesOfEveryVm() {
    WireLink link = connect();

    JsonObject all = Wire.resultOf(call(link, "device.list", new JsonObject()));
    JsonObject one = Wire.resultOf(call(link, "device.list", new JsonObject().put("vm", host.vm())));

    assertThat(all.getJsonArray("devices").getList()).containsAll(one.getJsonArray("devices").getList());
    for (Object d : all.getJsonArray("devices")) {
      JsonObject device = (JsonObject) d;
      assertThat(device.fieldNames()).contains("vm", "deviceId", "bdf", "driver", "state");
      assertThat(device.getString("state")).isIn("attached", "detaching");
    }
  }

  @Test
  void anUnknownVmIsNotFoundForEveryMethodThatNamesOne() {
    WireLink link = connect();

    JsonObject list = call(link, "device.list", new JsonObject().put("vm", "no-such-vm"));
    JsonObject attach = attachWith(link, "vm", "no-such-vm");
    JsonObject detach = call(link, "device.detach", new JsonObject().put("opId", "d-" + id())
        .put("vm", "no-such-vm").put("deviceId", "dpu-nic0"));

    for (JsonObject answer : new JsonObject[] {list, attach, detach}) {
      assertThat(Wire.errorCode(answer)).as(answer.encode()).isEqualTo(-32002);
      assertThat(answer.getJsonObject("error").getJsonObject("data").getString("vm")).isEqualTo("no-such-vm");
    }
  }

  @Test
  void detachOfADeviceTheVmDoesNotHaveIsNotFound() {
    WireLink link = connect();

    JsonObject answer = call(link, "device.detach", new JsonObject().put("opId", "d-" + id()).put("vm", host.vm())
        .put("deviceId", "dpu-nothing-here"));

    assertThat(Wire.errorCode(answer)).isEqualTo(-32002);
    assertThat(answer.getJsonObject("error").getJsonObject("data").getString("device")).isEqualTo("dpu-nothing-here");
  }

  // ---- Requests: policy ----

  @Test
  void theDpuCannotDetachWhatItDidNotAttach() {
    String foreign = host.foreignDevice();
    WireLink link = connect();

    String opId = "d-" + id();
    JsonObject error = endError(link, call(link, "device.detach", new JsonObject().put("opId", opId)
        .put("vm", host.vm()).put("deviceId", foreign)), opId);
    JsonObject devices = Wire.resultOf(call(link, "device.list", new JsonObject().put("vm", host.vm())));

    assertThat(error.getInteger("code")).isEqualTo(-32001);
    assertThat(error.getJsonObject("data").fieldNames()).contains("rule", "reason");
    assertThat(devices.getJsonArray("devices").stream().map(d -> ((JsonObject) d).getString("deviceId")))
        .contains(foreign);
  }

  @Test
  void aThrottledRequestIsTooManyRequestsWithRetryAfterAndMayBeRepeated() {
    host.throttleDpu(Duration.ofMillis(1500));
    WireLink link = connect();

    JsonObject answer = call(link, "vm.list", new JsonObject());

    assertThat(Wire.errorCode(answer)).isEqualTo(-32011);
    assertThat(answer.getJsonObject("error").getJsonObject("data").getLong("retryAfterMs")).isPositive();
  }

  @Test
  void requestsBeyondMaxInFlightAreTooManyRequestsAtOnce() {
    WireLink link = connect(settings().withMaxInFlightRequests(2), 0);
    host.holdOperations();

    for (int i = 0; i < 3; i++) {
      link.send(Wire.request(900 + i, "device.attach", new JsonObject().put("opId", "held-" + i)
          .put("vm", host.vm()).put("bdf", "0000:03:00." + i).put("deviceId", "dpu-held" + i)).encode());
    }
    JsonObject refused = link.answerTo(902);
    host.releaseOperations();

    assertThat(Wire.errorCode(refused)).isEqualTo(-32011);
    assertThat(Wire.resultOf(link.answerTo(900)).getString("opId")).isEqualTo("held-0");
    assertThat(Wire.resultOf(link.answerTo(901)).getString("opId")).isEqualTo("held-1");
  }

  /**
   * The error an operation ended with: the answer's error when it was refused, else the
   * op.failed with its opId (an op.completed fails the test).
   */
  protected static JsonObject endError(WireLink link, JsonObject answer, String opId) {
    if (answer.containsKey("error")) {
      return answer.getJsonObject("error");
    }
    JsonObject end = link.nextMatching("the end of " + opId, m -> opId.equals(params(m).getString("opId"))
        && ("op.failed".equals(m.getString("method")) || "op.completed".equals(m.getString("method"))));
    assertThat(end.getString("method")).as(end.encode()).isEqualTo("op.failed");
    return end.getJsonObject("params").getJsonObject("error");
  }

  protected static JsonObject params(JsonObject message) {
    JsonObject p = message.getJsonObject("params");
    return p == null ? new JsonObject() : p;
  }
}
