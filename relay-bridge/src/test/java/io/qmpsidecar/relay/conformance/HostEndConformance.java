package io.qmpsidecar.relay.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.conformance.HostEndFixture.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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
  void aSingleFrameOverFourTimesMaxMessageBytesClosesTheLinkWithStatus1009() {
    WireLink link = connect(settings().withMaxMessageBytes(64 * 1024), 0);

    link.send(paddedVmList(8, 4 * 64 * 1024 + 1024));

    link.awaitClosed(WireLink.WAIT);
    assertThat(link.closeStatus()).as("closed by the WebSocket layer: %s", link.closeReason()).isEqualTo((short) 1009);
  }

  @Test
  void anErrorAnswerThatWouldExceedMaxMessageBytesIsMessageTooLargeWithTheRequestsId() {
    WireLink link = connect(settings().withMaxMessageBytes(1024), 0);

    JsonObject answer = attachWith(link, "bdf", "x".repeat(880));

    assertThat(Wire.errorCode(answer)).as(answer.encode()).isEqualTo(-32010);
    assertThat(answer.getValue("id")).isNotNull();
    assertThat(link.isClosed()).isFalse();
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
    link.send("{\"jsonrpc\":2.0,\"id\":6,\"method\":\"vm.list\",\"params\":{}}");
    JsonObject number = link.nextMatching("an error", m -> m.containsKey("error"));
    link.send("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"vm.list\",\"params\":{}}");
    JsonObject nullId = link.nextMatching("an error", m -> m.containsKey("error"));

    assertThat(Wire.errorCode(batch)).isEqualTo(-32600);
    assertThat(Wire.errorCode(string)).isEqualTo(-32600);
    assertThat(Wire.errorCode(version)).isEqualTo(-32600);
    assertThat(version.getValue("id")).isEqualTo(4);
    assertThat(Wire.errorCode(number)).as("\"jsonrpc\" is the string \"2.0\", not a number").isEqualTo(-32600);
    assertThat(Wire.errorCode(nullId)).as("a request's id is a string or an integer").isEqualTo(-32600);
  }

  @Test
  void paramsThatAreNotAnObjectAreInvalidParams() {
    WireLink link = connect();

    link.send("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"vm.list\",\"params\":[]}");

    assertInvalidParams(link.answerTo(5), "params");
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
    host.start(settings().withHeartbeat(interval, timeout));
    WireLink link = dpu.awaitLink();
    JsonObject hello = awaitHello(link);
    // The host's silence begins when it reads the answer: taken before it is sent, so never late.
    long quietSince = System.nanoTime();
    link.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, 0).encode());

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
    assertInvalidParams(attachWith(link, "bdf", "0000:03:20.1"), "bdf");
    JsonObject emoji = attachWith(link, "opId", "\uD83D\uDE80".repeat(129));
    assertInvalidParams(emoji, "opId");
    assertThat(emoji.getJsonObject("error").getString("message")).as("characters, not UTF-16 units").contains("it has 129");
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

  // ---- Sequence numbers, acks, replay ----

  /** Notifications (not answers) that arrive within {@code count} of them, checking seq is consecutive. */
  protected static List<JsonObject> notifications(WireLink link, int count) {
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(link.nextMatching("notification " + (i + 1) + " of " + count,
          m -> m.containsKey("method") && !m.containsKey("id") && params(m).containsKey("seq")));
    }
    return out;
  }

  protected static List<Long> seqs(List<JsonObject> notifications) {
    return notifications.stream().map(n -> params(n).getLong("seq")).toList();
  }

  @Test
  void notificationsCarryConsecutiveSeqsAndAreResentAfterTheDpusLastAcked() {
    WireLink link = connect();
    host.emitNotifications(5);
    List<Long> first = seqs(notifications(link, 5));
    link.send(Wire.ack(first.get(1)).encode());
    link.close();

    WireLink again = answerHello(dpu.awaitLink(Duration.ofSeconds(40)), first.get(1));
    List<Long> resent = seqs(notifications(again, 3));

    for (int i = 1; i < first.size(); i++) {
      assertThat(first.get(i)).isEqualTo(first.get(i - 1) + 1);
    }
    assertThat(resent).containsExactlyElementsOf(first.subList(2, 5));
  }

  @Test
  void theSeqContinuesAcrossARestartAndTheEpochGrows() {
    host.start(settings());
    WireLink link = dpu.awaitLink();
    JsonObject firstHello = awaitHello(link);
    link.send(Wire.helloAnswer(firstHello.getValue("id"), DPU_ID, 0).encode());
    long epoch = firstHello.getJsonObject("params").getLong("epoch");
    host.emitNotifications(3);
    long last = seqs(notifications(link, 3)).get(2);
    link.send(Wire.ack(last).encode());
    host.crash();

    host.start(settings());
    WireLink again = dpu.awaitLink(Duration.ofSeconds(40));
    JsonObject hello = awaitHello(again);
    again.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, last).encode());
    host.emitNotifications(1);
    long next = params(notifications(again, 1).get(0)).getLong("seq");

    assertThat(hello.getJsonObject("params").getLong("lastSeq")).isGreaterThanOrEqualTo(last);
    assertThat(next).isGreaterThan(last);
    assertThat(hello.getJsonObject("params").getLong("epoch")).isGreaterThan(epoch);
  }

  @Test
  void aDpuAheadOfTheHostGetsASnapshotNumberedAfterItsLastAcked() {
    host.start(settings());
    WireLink link = dpu.awaitLink();
    JsonObject hello = awaitHello(link);
    long ahead = hello.getJsonObject("params").getLong("lastSeq") + 1000;

    link.send(Wire.helloAnswer(hello.getValue("id"), DPU_ID, ahead).encode());
    JsonObject snapshot = link.nextMatching("state.snapshot", m -> "state.snapshot".equals(m.getString("method")));
    host.emitNotifications(1);
    JsonObject after = notifications(link, 1).get(0);

    assertThat(params(snapshot).getLong("seq")).as("a DPU drops seq <= lastAcked: the snapshot must be above it")
        .isGreaterThan(ahead);
    assertThat(params(snapshot).fieldNames()).contains("vms", "devices");
    assertThat(params(after).getLong("seq")).isEqualTo(params(snapshot).getLong("seq") + 1);
  }

  // ---- State ----

  @Test
  void vmListNamesEveryVmWithItsRunStateAndItsMonitorLink() {
    WireLink link = connect();

    JsonArray vms = Wire.resultOf(call(link, "vm.list", new JsonObject())).getJsonArray("vms");

    assertThat(vms.stream().map(v -> ((JsonObject) v).getString("name"))).contains(host.vm());
    for (Object v : vms) {
      JsonObject vm = (JsonObject) v;
      assertThat(vm.getString("status")).as(vm.encode()).isIn(RUN_STATES);
      assertThat(vm.getString("monitor")).as(vm.encode()).isIn("connected", "disconnected");
    }
    JsonObject mine = vms.stream().map(v -> (JsonObject) v).filter(v -> host.vm().equals(v.getString("name")))
        .findFirst().orElseThrow();
    assertThat(mine.getString("monitor")).isEqualTo("connected");
    assertThat(mine.getString("status")).isNotEqualTo("unknown");
  }

  /** QEMU's RunState values, and unknown while the monitor is not connected. */
  public static final List<String> RUN_STATES = List.of("debug", "inmigrate", "internal-error", "io-error",
      "paused", "postmigrate", "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm", "shutdown",
      "suspended", "watchdog", "guest-panicked", "colo", "unknown");

  @Test
  void stateSnapshotAnswersVmsDevicesAndTheSeqItReflects() {
    WireLink link = connect();
    host.emitNotifications(2);
    long last = seqs(notifications(link, 2)).get(1);

    JsonObject snapshot = Wire.resultOf(call(link, "state.snapshot", new JsonObject()));

    assertThat(snapshot.getJsonArray("vms")).isNotEmpty();
    assertThat(snapshot.getValue("devices")).isInstanceOf(JsonArray.class);
    assertThat(snapshot.getLong("seq")).isGreaterThanOrEqualTo(last);
  }

  // ---- The operation lifecycle ----

  private static final List<String> ATTACH_STAGES = List.of("host-prepared", "device-added");
  private static final List<String> DETACH_STAGES = List.of("unplug-requested", "pending");

  private String attachableBdf() {
    return host.attachableBdf().orElseGet(() -> Assumptions.abort(
        "the host end under test has no function the DPU may attach"));
  }

  /** Every notification of {@code opId} up to and including its end (op.completed or op.failed). */
  protected static List<JsonObject> untilEnd(WireLink link, String opId) {
    List<JsonObject> out = new ArrayList<>();
    while (true) {
      JsonObject n = link.nextMatching("notifications of " + opId, m -> opId.equals(params(m).getString("opId"))
          && m.getString("method", "").startsWith("op."));
      out.add(n);
      if ("op.completed".equals(n.getString("method")) || "op.failed".equals(n.getString("method"))) {
        return out;
      }
    }
  }

  /** Checks the lifecycle rules every operation follows; returns its end. */
  private static JsonObject assertLifecycle(List<JsonObject> notes, List<String> stages) {
    List<String> seen = new ArrayList<>();
    for (JsonObject n : notes.subList(0, notes.size() - 1)) {
      assertThat(n.getString("method")).as(n.encode()).isEqualTo("op.progress");
      seen.add(params(n).getString("stage"));
    }
    assertThat(stages).as("stages of the documented list, each once, in order").containsSubsequence(seen);
    assertThat(seen).doesNotHaveDuplicates();
    return notes.get(notes.size() - 1);
  }

  /**
   * Sends the operation {@code method} with {@code params} (its opId among them) and returns its
   * answer, checking that the answer came before every notification of the operation: the
   * lifecycle starts with it (docs/relay-protocol.md, Operations).
   */
  protected JsonObject answeredFirst(WireLink link, String method, JsonObject params) {
    int id = id();
    String opId = params.getString("opId");
    link.send(Wire.request(id, method, params).encode());
    JsonObject first = link.nextMatching("the answer to " + opId + " or a notification of it",
        m -> Integer.valueOf(id).equals(m.getValue("id")) || !m.containsKey("id") && opId.equals(params(m).getString("opId")));
    assertThat(first.containsKey("method")).as("the answer comes before the operation's notifications; first came %s",
        first.encode()).isFalse();
    return first;
  }

  /** Attaches a function; returns the device id of the completed attach. */
  protected String attached(WireLink link, String bdf) {
    String opId = "a-" + id();
    JsonObject answer = Wire.resultOf(answeredFirst(link, "device.attach", new JsonObject().put("opId", opId)
        .put("vm", host.vm()).put("bdf", bdf)));
    JsonObject end = assertLifecycle(untilEnd(link, opId), ATTACH_STAGES);
    assertThat(end.getString("method")).as(end.encode()).isEqualTo("op.completed");
    return answer.getString("deviceId");
  }

  @Test
  void anAttachIsAcceptedThenReportsItsStagesThenEndsOnceWithTheDocumentedResult() {
    String bdf = attachableBdf();
    WireLink link = connect();
    String deviceId = "dpu-c" + id();

    JsonObject answer = Wire.resultOf(answeredFirst(link, "device.attach", new JsonObject().put("opId", "a-1")
        .put("vm", host.vm()).put("bdf", bdf).put("deviceId", deviceId)));
    JsonObject end = assertLifecycle(untilEnd(link, "a-1"), ATTACH_STAGES);
    JsonObject result = params(end).getJsonObject("result");

    assertThat(answer.getMap()).containsEntry("opId", "a-1").containsEntry("vm", host.vm())
        .containsEntry("deviceId", deviceId);
    assertThat(end.getString("method")).isEqualTo("op.completed");
    assertThat(result.getMap()).containsEntry("vm", host.vm()).containsEntry("deviceId", deviceId)
        .containsEntry("outcome", "attached");
    link.expectSilence(Duration.ofMillis(300));
  }

  @Test
  void anAttachWithoutDeviceIdNamesTheChosenIdInTheAnswerAndInItsEnd() {
    String bdf = attachableBdf();
    WireLink link = connect();

    JsonObject answer = Wire.resultOf(call(link, "device.attach", new JsonObject().put("opId", "a-2")
        .put("vm", host.vm()).put("bdf", bdf)));
    JsonObject end = assertLifecycle(untilEnd(link, "a-2"), ATTACH_STAGES);

    assertThat(answer.getString("deviceId")).isNotBlank();
    assertThat(params(end).getJsonObject("result").getString("deviceId")).isEqualTo(answer.getString("deviceId"));
    JsonObject devices = Wire.resultOf(call(link, "device.list", new JsonObject().put("vm", host.vm())));
    assertThat(devices.getJsonArray("devices").stream().map(d -> ((JsonObject) d).getString("deviceId")))
        .contains(answer.getString("deviceId"));
  }

  @Test
  void aRepeatedOpIdGetsTheFirstAnswerAndTheOperationRunsOnce() {
    String bdf = attachableBdf();
    WireLink link = connect();
    JsonObject params = new JsonObject().put("opId", "a-3").put("vm", host.vm()).put("bdf", bdf)
        .put("deviceId", "dpu-r" + id());

    JsonObject first = call(link, "device.attach", params);
    List<JsonObject> notes = untilEnd(link, "a-3");
    JsonObject again = call(link, "device.attach", params);

    assertThat(Wire.resultOf(again)).isEqualTo(Wire.resultOf(first));
    assertThat(notes).isNotEmpty();
    link.expectSilence(Duration.ofMillis(300));
  }

  @Test
  void anOpIdReusedWithOtherParamsIsAConflict() {
    WireLink link = connect();

    JsonObject first = call(link, "device.attach", attachParams().put("opId", "a-4").put("vm", "no-such-vm"));
    JsonObject other = call(link, "device.attach", attachParams().put("opId", "a-4"));

    assertThat(Wire.errorCode(first)).isEqualTo(-32002);
    assertThat(Wire.errorCode(other)).isEqualTo(-32012);
    assertThat(other.getJsonObject("error").getJsonObject("data").getString("opId")).isEqualTo("a-4");
  }

  @Test
  void anAttachWhoseHostPreparationFailsEndsInHostPrerequisiteNamingTheFunction() {
    String bdf = host.unpreparableBdf();
    WireLink link = connect();

    JsonObject error = endError(link, call(link, "device.attach", new JsonObject().put("opId", "a-6")
        .put("vm", host.vm()).put("bdf", bdf)), "a-6");

    assertThat(error.getInteger("code")).isEqualTo(-32006);
    assertThat(error.getJsonObject("data").getString("bdf")).isEqualTo(bdf);
    assertThat(error.getString("message")).contains(bdf);
  }

  @Test
  void anAttachQemuRefusesEndsInQemuErrorWithQemusClassAndDescription() {
    String bdf = host.bdfQemuRefuses();
    WireLink link = connect();

    JsonObject error = endError(link, call(link, "device.attach", new JsonObject().put("opId", "a-7")
        .put("vm", host.vm()).put("bdf", bdf)), "a-7");

    assertThat(error.getInteger("code")).isEqualTo(-32004);
    JsonObject data = error.getJsonObject("data");
    assertThat(data.getString("class")).isNotBlank();
    assertThat(data.getString("desc")).isNotBlank();
    assertThat(error.getString("message")).contains(data.getString("desc"));
  }

  @Test
  void aDetachEndsWithDeviceDeletedThenOpCompleted() {
    String bdf = attachableBdf();
    WireLink link = connect();
    String device = attached(link, bdf);

    Wire.resultOf(answeredFirst(link, "device.detach", new JsonObject().put("opId", "d-1").put("vm", host.vm())
        .put("deviceId", device)));
    JsonObject deleted = link.nextMatching("device.deleted", m -> "device.deleted".equals(m.getString("method")));
    JsonObject end = assertLifecycle(untilEnd(link, "d-1"), DETACH_STAGES);

    assertThat(params(deleted).getMap()).containsEntry("vm", host.vm()).containsEntry("device", device)
        .containsKey("path");
    assertThat(end.getString("method")).isEqualTo("op.completed");
    assertThat(params(end).getJsonObject("result").getMap()).containsEntry("outcome", "detached")
        .containsEntry("deviceId", device);
    assertThat(params(deleted).getLong("seq")).as("device.deleted before the op.completed it completes")
        .isLessThan(params(end).getLong("seq"));
  }

  @Test
  void aGuestThatNeverReleasesTheDeviceEndsTheDetachWithUnplugTimeout() {
    String bdf = attachableBdf();
    WireLink link = connect();
    String device = attached(link, bdf);
    host.guestIgnoresUnplugs();

    Wire.resultOf(call(link, "device.detach", new JsonObject().put("opId", "d-2").put("vm", host.vm())
        .put("deviceId", device)));
    JsonObject end = assertLifecycle(untilEnd(link, "d-2"), DETACH_STAGES);
    JsonObject listed = Wire.resultOf(call(link, "device.list", new JsonObject().put("vm", host.vm())));

    assertThat(end.getString("method")).isEqualTo("op.failed");
    JsonObject error = params(end).getJsonObject("error");
    assertThat(error.getInteger("code")).isEqualTo(-32005);
    assertThat(error.getJsonObject("data").getString("device")).isEqualTo(device);
    assertThat(listed.getJsonArray("devices").stream().map(d -> (JsonObject) d)
        .filter(d -> device.equals(d.getString("deviceId"))).map(d -> d.getString("state"))).containsExactly("detaching");
  }

  @Test
  void aRemovalOutsideAnyOperationIsNotifiedAsDeviceDeleted() {
    String bdf = attachableBdf();
    WireLink link = connect();
    String device = attached(link, bdf);

    host.removeOutsideTheRelay(host.vm(), device);
    JsonObject deleted = link.nextMatching("device.deleted", m -> "device.deleted".equals(m.getString("method")));

    assertThat(params(deleted).getMap()).containsEntry("vm", host.vm()).containsEntry("device", device);
    link.expectSilence(Duration.ofMillis(300));
  }

  @Test
  void anOperationCutShortByACrashEndsAfterTheRestartAndARepeatIsNeverAStaleAcceptance() {
    String bdf = attachableBdf();
    WireLink link = connect();
    String device = attached(link, bdf);
    host.guestIgnoresUnplugs();
    JsonObject detach = new JsonObject().put("opId", "d-3").put("vm", host.vm()).put("deviceId", device);
    JsonObject accepted = Wire.resultOf(call(link, "device.detach", detach));
    link.nextMatching("a stage of d-3", m -> "op.progress".equals(m.getString("method")));
    host.crash();

    host.start(settings());
    WireLink again = answerHello(dpu.awaitLink(Duration.ofSeconds(40)), 0);
    JsonObject repeat = call(again, "device.detach", detach);
    JsonObject end = again.nextMatching("the end of d-3", m -> "d-3".equals(params(m).getString("opId"))
        && ("op.completed".equals(m.getString("method")) || "op.failed".equals(m.getString("method"))));

    if (repeat.containsKey("error")) {
      assertThat(Wire.errorCode(repeat)).as("while the host reconciles it").isEqualTo(-32013);
    } else {
      assertThat(Wire.resultOf(repeat)).isEqualTo(accepted);
    }
    assertThat(end.getString("method")).isIn("op.completed", "op.failed");
    assertThat(Wire.resultOf(call(again, "device.detach", detach))).as("once it ended: the first answer")
        .isEqualTo(accepted);
  }

  @Test
  void anAttachCutShortBeforeItsAnswerEndsAfterTheRestartAndItsRepeatGetsTheAnswer() {
    String bdf = attachableBdf();
    WireLink link = connect();
    host.holdOperations();
    JsonObject attach = new JsonObject().put("opId", "a-5").put("vm", host.vm()).put("bdf", bdf)
        .put("deviceId", "dpu-h" + id());
    link.send(Wire.request(77, "device.attach", attach).encode());
    host.awaitHeldOperations(1);
    host.crash();

    host.start(settings());
    WireLink again = answerHello(dpu.awaitLink(Duration.ofSeconds(40)), 0);
    JsonObject end = again.nextMatching("the end of a-5", m -> "a-5".equals(params(m).getString("opId"))
        && ("op.completed".equals(m.getString("method")) || "op.failed".equals(m.getString("method"))));
    JsonObject repeat = call(again, "device.attach", attach);

    if ("op.completed".equals(end.getString("method"))) {
      assertThat(Wire.resultOf(repeat).getMap()).containsEntry("opId", "a-5")
          .containsEntry("deviceId", params(end).getJsonObject("result").getString("deviceId"));
    } else {
      assertThat(repeat.getJsonObject("error")).isEqualTo(params(end).getJsonObject("error"));
    }
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
