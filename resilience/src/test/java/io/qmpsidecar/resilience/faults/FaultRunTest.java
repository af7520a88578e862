package io.qmpsidecar.resilience.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpsidecar.relay.ReceivedNotification;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The fault rows' counters find what they count: gaps, repeats and callers that hang. */
class FaultRunTest {

  private static ReceivedNotification n(long seq, String method) {
    return new ReceivedNotification("host-1", seq, method, Map.of());
  }

  @Test
  void anUnbrokenSequenceHasNoProblems() {
    FaultRun run = new FaultRun("t");
    assertThat(run.checkSequence(List.of(n(1, "a"), n(2, "b"), n(3, "c")))).isEmpty();
  }

  @Test
  void gapsAndRepeatsAreFoundAndNamed() {
    FaultRun run = new FaultRun("t");
    assertThat(run.checkSequence(List.of(n(1, "a"), n(4, "b"), n(4, "b"), n(2, "c"))))
        .containsExactly("seq 2..3 missing before b", "seq 4 (b) again after seq 4", "seq 2 (c) again after seq 4");
    assertThat(run.checkSequence(List.of(n(2, "late start")))).containsExactly("seq 1..1 missing before late start");
  }

  @Test
  void aSnapshotMovesTheExpectedSeqOn() {
    FaultRun run = new FaultRun("t");
    assertThat(run.checkSequence(List.of(n(50, "state.snapshot"), n(51, "a")))).isEmpty();
    assertThat(run.checkSequence(List.of(n(3, "a"), n(2, "state.snapshot")))).hasSize(2);
  }

  @Test
  void aCallerWithoutAnAnswerWithinItsBoundFails() {
    FaultRun run = new FaultRun("t");
    assertThatThrownBy(() -> run.bounded("silent", Promise.promise().future(), Duration.ofMillis(50)))
        .isInstanceOf(AssertionError.class).hasMessageContaining("silent did not get an answer within PT0.05S");
    assertThat(run.bounded("failed", io.vertx.core.Future.failedFuture("no"), Duration.ofMillis(50)).failure())
        .hasMessage("no");
  }
}
