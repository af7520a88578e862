package io.qmpsidecar.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.testing.Await;
import io.qmpsidecar.relay.testing.RelayPair;
import io.vertx.core.Future;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Operations cut short by a stop of the host end with the op.failed OP_INTERRUPTED the relay
 * sends itself when the executor cannot tell how they ended; a store of an earlier version
 * resumes nothing.
 */
class OpResumeTest {

  @TempDir Path dir;

  private static final Map<String, Object> ATTACH = Map.of("opId", "op-held", "vm", "vm1", "bdf", "0000:03:00.1",
      "deviceId", "dpu-held");

  /** Leaves op-held started and unanswered in the store under {@code dir}. */
  private void stopWhileAnAttachIsHeld() {
    try (RelayPair pair = RelayPair.plain(dir)) {
      pair.executor.holdAttaches();
      pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, ATTACH);
      Await.until("the attach to be held", () -> pair.executor.heldCount() == 1);
      pair.executor.crashed();
    }
  }

  @Test
  void anExecutorThatCannotTellGetsTheOperationFailedAsInterrupted() {
    stopWhileAnAttachIsHeld();

    try (RelayPair pair = new RelayPair()) {
      pair.executor.failResumes("QEMU is not connected yet");
      pair.dpu(DpuEndpointOptions.defaults()).host(pair.hostOptions(dir, pair.dpu.actualPort()));
      ReceivedNotification end = pair.awaitReceived(1).get(0);
      RelayError repeat = ((RelayErrorException) Await.failure(
          pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, ATTACH))).error();

      assertThat(end.method()).isEqualTo(RelayMethods.OP_FAILED);
      assertThat(end.params()).containsEntry("opId", "op-held");
      @SuppressWarnings("unchecked")
      Map<String, Object> error = (Map<String, Object>) end.params().get("error");
      assertThat(error).containsEntry("code", ErrorCode.OP_INTERRUPTED.wireCode());
      assertThat((String) error.get("message")).contains("QEMU is not connected yet").contains("device.list");
      assertThat(repeat.code()).as("a repeat gets the end, as the first request got no answer")
          .isEqualTo(ErrorCode.OP_INTERRUPTED);
      assertThat(pair.executor.calls()).containsExactly("resume op-held");
    }
  }

  @Test
  void anOperationIsResumedOnceAndNotAgainAtTheNextStart() {
    stopWhileAnAttachIsHeld();

    try (RelayPair pair = RelayPair.plain(dir)) {
      ReceivedNotification end = pair.awaitReceived(1).get(0);
      assertThat(end.method()).as("this pair's in-memory QEMU has no dpu-held: the attach never took effect")
          .isEqualTo(RelayMethods.OP_FAILED);
      assertThat(pair.executor.calls()).containsExactly("resume op-held");
    }
    try (RelayPair pair = RelayPair.plain(dir)) {
      RelayError repeat = ((RelayErrorException) Await.failure(
          pair.dpu.request(RelayPair.HOST_ID, RelayMethods.DEVICE_ATTACH, ATTACH))).error();

      assertThat(repeat.code()).isEqualTo(ErrorCode.OP_INTERRUPTED);
      assertThat(repeat.message()).contains("before the device was added");
      assertThat(pair.executor.calls()).as("nothing resumed or run again (this new DPU gets a snapshot)")
          .noneMatch(c -> c.startsWith("resume") || c.startsWith("attach"));
    }
  }

  @Test
  void aStoreOfAnEarlierVersionResumesNothing() throws Exception {
    Files.createDirectories(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("relay.db"));
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE ops (op_id TEXT PRIMARY KEY, method TEXT NOT NULL, params TEXT NOT NULL, outcome TEXT,"
          + " created INTEGER NOT NULL)");
      s.execute("INSERT INTO ops VALUES ('op-old', 'device.attach', '{}', '{\"result\":{\"opId\":\"op-old\"}}', 1)");
    }

    try (RelayPair pair = RelayPair.plain(dir)) {
      Future<Long> probe = pair.host.notify(Notification.vmLifecycle("vm1", "STOP"));

      assertThat(Await.result(probe)).isEqualTo(1);
      assertThat(pair.awaitReceived(1)).extracting(ReceivedNotification::method).containsExactly("vm.lifecycle");
      assertThat(pair.executor.calls()).doesNotContain("resume op-old");
      assertThat(List.copyOf(pair.received)).hasSize(1);
    }
  }
}
