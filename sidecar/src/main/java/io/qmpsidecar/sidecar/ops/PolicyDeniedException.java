package io.qmpsidecar.sidecar.ops;

import io.qmpsidecar.policy.Decision;

/** The policy denied the operation; nothing was changed. */
public class PolicyDeniedException extends OperationException {
  private final Decision decision;

  public PolicyDeniedException(String caller, String what, Decision decision) {
    super(caller + " may not " + what + ": " + decision
        + "; change the policy or ask with a caller it allows");
    this.decision = decision;
  }

  public Decision decision() {
    return decision;
  }
}
