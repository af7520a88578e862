package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.Objects;

/**
 * What the engine records about one decision.
 *
 * @param time when the decision was made (from the engine's clock)
 * @param caller the caller's id
 * @param command the command name as requested
 * @param arguments the arguments with secret values replaced by {@code "***"} (see
 *     docs/policies.md, "Audit", for which keys count as secret)
 * @param effect allow or deny
 * @param ruleId the id of the rule that decided
 * @param reason why
 */
public record AuditRecord(
    Instant time,
    String caller,
    String command,
    JsonNode arguments,
    Effect effect,
    String ruleId,
    String reason) {

  public AuditRecord {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(caller, "caller");
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(arguments, "arguments");
    Objects.requireNonNull(effect, "effect");
    Objects.requireNonNull(ruleId, "ruleId");
    Objects.requireNonNull(reason, "reason");
  }
}
