package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.sidecar.failure.Failures;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import java.util.Objects;
import org.slf4j.MDC;

/**
 * The one place where the policy decides: every request of every entry point reaches the engine
 * here, once, so that it is audited once, spends one rate-limit token and is counted once in
 * {@code qmp_sidecar_policy_decisions_total}. Thread-safe.
 */
public final class PolicyGate {
  private final PolicyEngine engine;
  private final SidecarMetrics metrics;

  public PolicyGate(PolicyEngine engine, SidecarMetrics metrics) {
    this.engine = Objects.requireNonNull(engine, "engine");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /** Decides {@code request}: audited, rate-limited and counted. */
  public Decision decide(PolicyRequest request) {
    Decision d = engine.decide(request);
    metrics.policyDecision(request.caller().id(), d.allowed());
    return d;
  }

  /**
   * Decides {@code request} and fails when it is not allowed.
   *
   * @param what the request in words, for the refusal's message ("detach nic0 from VM vm1")
   * @throws io.qmpsidecar.sidecar.failure.SidecarException {@code DENIED}, or {@code THROTTLED}
   *     when the caller's rate limit decided
   */
  public void require(PolicyRequest request, String what) {
    Decision d = decide(request);
    if (!d.allowed()) {
      throw Failures.denied(request.caller(), what, d);
    }
  }

  /**
   * As {@link #decide(PolicyRequest)}, for operation {@code opId} on VM {@code vm}: both are in
   * the MDC while the engine decides, so the audit record names them.
   */
  public Decision decide(PolicyRequest request, String vm, String opId) {
    try (MDC.MDCCloseable v = MDC.putCloseable("vm", vm); MDC.MDCCloseable o = MDC.putCloseable("op", opId)) {
      return decide(request);
    }
  }

  /**
   * As {@link #require(PolicyRequest, String)}, for operation {@code opId} on VM {@code vm}: both
   * are in the MDC while the engine decides, so the audit record names them.
   */
  public void require(PolicyRequest request, String what, String vm, String opId) {
    Decision d = decide(request, vm, opId);
    if (!d.allowed()) {
      throw Failures.denied(request.caller(), what, d);
    }
  }
}
