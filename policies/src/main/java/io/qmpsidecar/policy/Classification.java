package io.qmpsidecar.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;

/**
 * What a policy lets one caller send as one command by one way, read from its rules without a
 * request: the basis of the schema audit (a command a new QEMU brings must be classified before
 * the audit passes). Deny rules are not taken into account, so the answer errs towards
 * {@link Kind#OPEN}.
 *
 * @param closed the allow rules that match the caller, command and way and carry a closed
 *     argument schema, in file order
 * @param openRuleIds the allow rules that match but have no closed schema (any argument they do
 *     not name passes them)
 * @param defaultAllows whether the policy's default allows
 */
public record Classification(List<ClosedForm> closed, List<String> openRuleIds, boolean defaultAllows) {

  /** The three answers. */
  public enum Kind {
    /** No allow rule matches and the default denies. */
    DENIED,
    /** Every allow rule that matches has a closed schema, and the default denies. */
    CLOSED,
    /** An allow rule without a closed schema matches, or the default allows. */
    OPEN
  }

  public Classification {
    closed = List.copyOf(closed);
    openRuleIds = List.copyOf(openRuleIds);
  }

  /** The answer in one word. */
  public Kind kind() {
    if (defaultAllows || !openRuleIds.isEmpty()) {
      return Kind.OPEN;
    }
    return closed.isEmpty() ? Kind.DENIED : Kind.CLOSED;
  }

  /** One allow rule's closed argument schema, for inspection. */
  public interface ClosedForm {

    /** The rule's id. */
    String ruleId();

    /** Every argument name the schema lists (nothing else may be sent). */
    Set<String> argumentNames();

    /**
     * Whether the schema accepts {@code value} for {@code argument} on its own, seen without
     * fact sets or value sets (a constraint that needs one accepts nothing here).
     */
    boolean accepts(String argument, JsonNode value);
  }
}
