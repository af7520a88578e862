package io.qmpsidecar.resilience.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyException;
import io.qmpsidecar.resilience.FuzzFigures;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * Policy files (YAML or JSON) from an operator's typo or an attacker who can write the file,
 * then requests decided by what loaded. A bad file fails with a {@link PolicyException} that says
 * what is wrong; a loaded policy decides any request text without throwing, with a reason.
 */
class PolicyLoaderFuzzTest {
  private static final AtomicLong EXECUTIONS = new AtomicLong();

  @AfterAll
  static void figures() {
    FuzzFigures.record("policy file loader + engine", EXECUTIONS.get());
  }

  @FuzzTest(maxDuration = "10s")
  void policyFile(FuzzedDataProvider data) {
    EXECUTIONS.incrementAndGet();
    boolean json = data.consumeBoolean();
    String request = data.consumeString(512);
    String caller = data.pickValue(new String[] {"dpu", "api:ops", "proxy:virsh", "cli", "rule:r1"});
    String text = data.consumeRemainingAsString();
    Policy policy;
    try {
      policy = Policies.parse(text, "fuzz.yaml", json);
    } catch (PolicyException e) {
      assertThat(e.getMessage()).as("a refused policy file says why").isNotBlank();
      return;
    }
    PolicyEngine engine = new PolicyEngine(policy, AuditSink.NONE, Clock.systemUTC());
    Decision decision = engine.decideText(new Caller(caller), request, Optional.empty());
    assertThat(decision.reason()).isNotBlank();
  }
}
