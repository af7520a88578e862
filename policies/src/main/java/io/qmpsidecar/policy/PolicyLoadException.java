package io.qmpsidecar.policy;

import java.util.List;

/**
 * A policy file could not be loaded: it was unreadable, not YAML/JSON, or failed validation.
 * Carries every error found, not just the first; nothing of the file was applied.
 */
public final class PolicyLoadException extends PolicyException {

  private final List<PolicyError> errors;

  /** Creates the exception; {@code errors} must not be empty. */
  public PolicyLoadException(List<PolicyError> errors) {
    super(summary(errors));
    this.errors = List.copyOf(errors);
  }

  /** Every error found, in document order. Never empty. */
  public List<PolicyError> errors() {
    return errors;
  }

  private static String summary(List<PolicyError> errors) {
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a PolicyLoadException needs at least one error");
    }
    String first = errors.get(0).toString();
    return errors.size() == 1
        ? "invalid policy: " + first
        : "invalid policy (" + errors.size() + " errors), first: " + first;
  }
}
