package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.PrefixAuthorizer;
import io.qmpsidecar.relay.testing.RecordingExecutor;
import io.qmpsidecar.relay.testing.RelayPair;
import io.vertx.core.Future;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelayRoundTripTest {

  @TempDir Path dir;
  RelayPair pair;

  @AfterEach
  void close() {
    if (pair != null) {
      pair.close();
    }
  }

  private Map<String, Object> call(String method, Map<String, Object> params) {
    return Await.result(pair.dpu.request(RelayPair.HOST_ID, method, params));
  }

  private static Map<String, Object> attach(String opId, String deviceId) {
    return Map.of("opId", opId, "vm", "vm1", "bdf", "0000:03:00.1", "deviceId", deviceId);
  }

  @Test
  void requestIsAnsweredWithTheExecutorsResult() {
    pair = RelayPair.plain(dir);

    Map<String, Object> vms = call(RelayMethods.VM_LIST, Map.of());

    assertThat(vms).isEqualTo(Map.of("vms", List.of(Map.of("name", "vm1", "status", "running", "monitor", "connected"),
        Map.of("name", "vm2", "status", "paused", "monitor", "connected"))));
    assertThat(pair.authorizer.callers()).containsExactly(RequestAuthorizer.CALLER_DPU);
  }

  @Test
  void attachIsAcceptedAndTheDeviceIsListed() {
    pair = RelayPair.plain(dir);

    Map<String, Object> accepted = call(RelayMethods.DEVICE_ATTACH, attach("op-1", "dpu-nic0"));
    Map<String, Object> devices = call(RelayMethods.DEVICE_LIST, Map.of("vm", "vm1"));

    assertThat(accepted).isEqualTo(Map.of("opId", "op-1", "vm", "vm1", "deviceId", "dpu-nic0"));
    assertThat(devices.get("devices")).asList()
        .contains(Map.of("vm", "vm1", "deviceId", "dpu-nic0", "bdf", "0000:03:00.1", "driver", "vfio-pci",
            "state", "attached"));
  }

  @Test
  void notificationsArriveOnceInOrderAndAreAcked() {
    pair = RelayPair.plain(dir);

    List<Long> seqs = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      seqs.add(Await.result(pair.host.notify(Notification.migrationStatus("vm1", "active-" + i))));
    }
    List<ReceivedNotification> got = pair.awaitReceived(500);

    assertThat(seqs).containsExactlyElementsOf(LongStream.rangeClosed(1, 500).boxed().toList());
    assertThat(got).extracting(ReceivedNotification::seq).containsExactlyElementsOf(seqs);
    assertThat(got.get(7).method()).isEqualTo(RelayMethods.MIGRATION_STATUS);
    assertThat(got.get(7).params()).isEqualTo(Map.of("vm", "vm1", "status", "active-7"));
    assertThat(pair.dpu.lastSeq(RelayPair.HOST_ID)).isEqualTo(500);
  }

  @Test
  void repeatedOpIdRunsOnceAndReturnsTheFirstOutcome() {
    pair = RelayPair.plain(dir);
    pair.executor.holdAttaches();

    List<Future<Map<String, Object>>> concurrent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      concurrent.add(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach("op-7", "dpu-nic7")));
    }
    Await.until("the attach to run", () -> pair.executor.heldCount() == 1);
    pair.executor.releaseHeld();
    List<Map<String, Object>> answers = concurrent.stream().map(Await::result).toList();
    Map<String, Object> later = call(RelayMethods.DEVICE_ATTACH, attach("op-7", "dpu-nic7"));

    assertThat(pair.executor.calls()).containsOnlyOnce("attach op-7");
    assertThat(answers).allSatisfy(a -> assertThat(a).isEqualTo(answers.get(0)));
    assertThat(later).isEqualTo(answers.get(0)).containsEntry("opId", "op-7");
  }

  @Test
  void failedOutcomeIsStoredToo() {
    pair = RelayPair.plain(dir);
    Map<String, Object> params = Map.of("opId", "op-bad", "vm", "vm1", "bdf", RecordingExecutor.MISSING_BDF,
        "deviceId", "dpu-x");

    RelayError first = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, params))).error();
    RelayError again = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, params))).error();

    assertThat(first.code()).isEqualTo(ErrorCode.HOST_PREREQUISITE);
    assertThat(first.data()).containsEntry("bdf", RecordingExecutor.MISSING_BDF);
    assertThat(again).isEqualTo(first);
    assertThat(pair.executor.calls()).containsOnlyOnce("attach op-bad");
  }

  @Test
  void aRefusalOfTheExecutorsPolicyIsNotStoredSoTheSameOpIdIsDecidedAfresh() {
    pair = RelayPair.plain(dir);
    Map<String, Object> params = Map.of("opId", "op-slow", "vm", "vm1", "bdf", RecordingExecutor.THROTTLED_ONCE_BDF,
        "deviceId", "dpu-slow");

    RelayError throttled = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, params))).error();
    Map<String, Object> accepted = call(RelayMethods.DEVICE_ATTACH, params);

    assertThat(throttled.code()).isEqualTo(ErrorCode.TOO_MANY_REQUESTS);
    assertThat(throttled.data()).containsEntry("retryAfterMs", 50);
    assertThat(accepted).containsEntry("opId", "op-slow").containsEntry("deviceId", "dpu-slow");
    assertThat(pair.executor.calls()).as("nothing ran the first time: run again").containsExactly("attach op-slow",
        "attach op-slow");
  }

  @Test
  void anExecutorThatThrowsIsAnInternalErrorStoredLikeAnyOutcome() {
    pair = RelayPair.plain(dir);
    Map<String, Object> params = Map.of("opId", "op-bug", "vm", "vm1", "bdf", RecordingExecutor.THROWING_BDF);

    RelayError first = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, params))).error();
    RelayError again = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, params))).error();

    assertThat(first.code()).isEqualTo(ErrorCode.INTERNAL_ERROR);
    assertThat(first.message()).contains("a bug in the executor").contains("see the sidecar's log");
    assertThat(again).as("stored, not 'interrupted' for want of an outcome").isEqualTo(first);
    assertThat(pair.executor.calls()).containsOnlyOnce("attach op-bug");
  }

  /** docs/relay-protocol.md: a -32603 after executorTimeout refuses nothing; the operation's notifications follow. */
  @Test
  void anAnswerLaterThanTheExecutorTimeoutIsAnInternalErrorAndTheOperationsNotificationsStillFollow() {
    pair = RelayPair.plain(dir, o -> o.withExecutorTimeout(Duration.ofMillis(300)));
    pair.executor.holdAttaches();

    RelayError late = ((RelayErrorException) Await.failure(
        pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach("op-late", "dpu-late")))).error();
    assertThat(late.code()).isEqualTo(ErrorCode.INTERNAL_ERROR);
    assertThat(late.message()).contains("did not answer device.attach within 300 ms").contains("check device.list");
    pair.executor.releaseHeld();

    List<ReceivedNotification> got = pair.awaitReceived(3);
    assertThat(got).extracting(ReceivedNotification::method)
        .containsExactly(RelayMethods.OP_PROGRESS, RelayMethods.OP_PROGRESS, RelayMethods.OP_COMPLETED);
    assertThat(got).extracting(n -> n.params().get("opId")).containsOnly("op-late");
  }

  @Test
  void opIdReusedWithOtherParametersIsRefused() {
    pair = RelayPair.plain(dir);
    call(RelayMethods.DEVICE_ATTACH, attach("op-2", "dpu-a"));

    Throwable e = Await.failure(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH,
        attach("op-2", "dpu-b")));

    assertThat(e).isInstanceOf(RelayErrorException.class);
    assertThat(((RelayErrorException) e).error().code()).isEqualTo(ErrorCode.OP_ID_CONFLICT);
    assertThat(pair.executor.calls()).containsExactly("attach op-2");
  }

  @Test
  void policyDenialIsAnErrorAndTheExecutorNeverRuns() {
    pair = RelayPair.plain(dir);

    Throwable e = Await.failure(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH,
        attach("op-3", "evil-device")));

    RelayError error = ((RelayErrorException) e).error();
    assertThat(error.code()).isEqualTo(ErrorCode.POLICY_DENIED);
    assertThat(error.data()).containsEntry("rule", PrefixAuthorizer.RULE);
    assertThat(pair.executor.calls()).isEmpty();
    assertThat(pair.authorizer.callers()).containsExactly(RequestAuthorizer.CALLER_DPU);
  }

  @Test
  void missingParameterAndUnknownMethodGetJsonRpcErrors() {
    pair = RelayPair.plain(dir);

    Throwable missing = Await.failure(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH,
        Map.of("opId", "op-4", "vm", "vm1", "deviceId", "dpu-a")));
    Throwable unknown = Await.failure(pair.dpu.request(RelayPair.HOST_ID, "vm.migrate", Map.of("vm", "vm1")));

    assertThat(((RelayErrorException) missing).error().code()).isEqualTo(ErrorCode.INVALID_PARAMS);
    assertThat(((RelayErrorException) missing).error().message()).contains("\"bdf\"");
    assertThat(((RelayErrorException) unknown).error().code()).isEqualTo(ErrorCode.METHOD_NOT_FOUND);
    assertThat(pair.executor.calls()).isEmpty();
  }

  @Test
  void thePolicySeesOnlyBoundParamsAndNeverABadRequest() {
    pair = RelayPair.plain(dir);

    Await.failure(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_DETACH,
        Map.of("opId", "op-5", "vm", "vm1", "deviceId", 42)));
    call(RelayMethods.DEVICE_ATTACH, Map.of("opId", "op-6", "vm", "vm1", "bdf", "0000:03:00.1", "evil", "rm -rf"));

    assertThat(pair.authorizer.params()).containsExactly(Map.of("opId", "op-6", "vm", "vm1", "bdf", "0000:03:00.1"));
  }

  @Test
  void attachWithoutDeviceIdIsAnsweredWithTheIdTheHostChose() {
    pair = RelayPair.plain(dir);

    Map<String, Object> accepted = call(RelayMethods.DEVICE_ATTACH, Map.of("opId", "op-7", "vm", "vm1",
        "bdf", "0000:03:00.1"));
    Map<String, Object> devices = call(RelayMethods.DEVICE_LIST, Map.of());

    assertThat((String) accepted.get("deviceId")).startsWith("dpu-");
    assertThat(devices.get("devices").toString()).contains("deviceId=" + accepted.get("deviceId"));
    assertThat(pair.executor.calls()).contains("listDevices null");
  }

  @Test
  void floodOfRequestsHitsTheInFlightLimitAndTheLinkStaysUp() {
    pair = RelayPair.plain(dir, o -> o.withMaxInFlightRequests(8));
    pair.executor.holdAttaches();

    List<Future<Map<String, Object>>> flood = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      flood.add(pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, attach("flood-" + i, "dpu-" + i)));
    }
    Await.until("8 attaches to run", () -> pair.executor.heldCount() == 8);
    List<Throwable> refused = new ArrayList<>();
    for (int i = 8; i < 100; i++) {
      refused.add(Await.failure(flood.get(i)));
    }
    pair.executor.releaseHeld();
    for (int i = 0; i < 8; i++) {
      Await.result(flood.get(i));
    }

    assertThat(refused).allSatisfy(e -> {
      assertThat(((RelayErrorException) e).error().code()).isEqualTo(ErrorCode.TOO_MANY_REQUESTS);
      assertThat(e.getMessage()).contains("8 requests are already in flight");
    });
    assertThat(pair.executor.calls()).hasSize(8);
    assertThat(call(RelayMethods.VM_LIST, Map.of())).containsKey("vms");
  }

  @Test
  void requestToAnUnknownHostFailsClearly() {
    pair = RelayPair.plain(dir);

    Throwable e = Await.failure(pair.dpu.request("host-z", RelayMethods.VM_LIST, Map.of()));

    assertThat(e).isInstanceOf(RelayConnectionException.class).hasMessageContaining("host-z is not connected");
  }
}
