package io.qmpsidecar.sidecar.migration;

/**
 * A coordinated migration did not complete and was rolled back: the source VM runs and its
 * functions are attached again. {@link #record()} holds the source's timeline and QEMU's error.
 */
public class MigrationFailedException extends MigrationException {
  private final MigrationOutcome outcome;
  private final MigrationRecord record;

  public MigrationFailedException(String message, MigrationOutcome outcome, MigrationRecord record, Throwable cause) {
    super(message, cause);
    this.outcome = outcome;
    this.record = record;
  }

  /** {@link MigrationOutcome#FAILED} or {@link MigrationOutcome#CANCELLED}. */
  public MigrationOutcome outcome() {
    return outcome;
  }

  public MigrationRecord record() {
    return record;
  }

  /** QEMU's own error text, or null when QEMU gave none (e.g. a step before {@code migrate} failed). */
  public String qemuError() {
    return record.errorText();
  }
}
