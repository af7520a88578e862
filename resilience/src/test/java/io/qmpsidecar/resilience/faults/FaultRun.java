package io.qmpsidecar.resilience.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.relay.ReceivedNotification;
import io.qmpsidecar.resilience.Figures;
import io.vertx.core.Future;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One injected fault and what the run counted about it: the callers whose wait did not end
 * within its bound, and the DPU notifications lost (a gap in {@code seq}) or seen twice (a
 * {@code seq} not above the one before) in the DPU end's received log. {@link #finish} writes the
 * row; the fault counts as survived only when every check of the test passed.
 */
final class FaultRun {
  private final String name;
  private long hung;
  private long lost;
  private long duplicated;

  FaultRun(String name) {
    this.name = name;
  }

  /**
   * Waits for a caller's answer within {@code bound}; a wait that does not end in time counts as
   * a hung caller and fails the check. A failed future is an answer (returned as the failure).
   */
  <T> Outcome<T> bounded(String caller, Future<T> future, Duration bound) {
    try {
      return new Outcome<>(future.toCompletionStage().toCompletableFuture().get(bound.toMillis(), TimeUnit.MILLISECONDS),
          null);
    } catch (ExecutionException e) {
      return new Outcome<>(null, e.getCause());
    } catch (TimeoutException e) {
      hung++;
      throw new AssertionError(caller + " did not get an answer within " + bound);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + caller, e);
    }
  }

  /** A caller's answer: a value, or the failure it got. */
  record Outcome<T>(T value, Throwable failure) {}

  /**
   * Counts gaps and repeats in one host's received log: {@code seq} must start at 1 and rise by
   * exactly one per notification. A {@code state.snapshot} carries the last {@code seq} it covers
   * and moves the expected next one on from there. Returns the problems found, one line each.
   */
  List<String> checkSequence(List<ReceivedNotification> log) {
    List<String> problems = new ArrayList<>();
    long last = 0;
    for (ReceivedNotification n : log) {
      if (n.method().equals("state.snapshot")) {
        if (n.seq() < last) {
          duplicated++;
          problems.add("snapshot at seq " + n.seq() + " after seq " + last);
        }
        last = Math.max(last, n.seq());
      } else if (n.seq() <= last) {
        duplicated++;
        problems.add("seq " + n.seq() + " (" + n.method() + ") again after seq " + last);
      } else {
        if (n.seq() > last + 1) {
          lost += n.seq() - last - 1;
          problems.add("seq " + (last + 1) + ".." + (n.seq() - 1) + " missing before " + n.method());
        }
        last = n.seq();
      }
    }
    return problems;
  }

  /** A fault's test body, given the run that counts what it sees. */
  @FunctionalInterface
  interface Body {
    void run(FaultRun run) throws Exception;
  }

  /**
   * Runs one fault and writes its row: survived only when {@code body} passed and {@code received}
   * (the DPU end's log, read after the body) has no gap or repeat.
   */
  static void inject(String name, List<ReceivedNotification> received, String receivedLog, Body body) throws Exception {
    FaultRun run = new FaultRun(name);
    boolean passed = false;
    try {
      body.run(run);
      assertThat(run.checkSequence(received)).as(receivedLog).isEmpty();
      passed = true;
    } finally {
      run.finish(passed);
    }
  }

  /** Writes the row: one fault injected, survived when {@code passed}. */
  void finish(boolean passed) {
    Figures.record(new Figures.Row(Figures.Section.FAULT, name, 1, passed ? 1 : 0, hung, lost, duplicated));
  }
}
