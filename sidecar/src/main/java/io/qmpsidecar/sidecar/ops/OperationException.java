package io.qmpsidecar.sidecar.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * Root of every failure of a sidecar operation. Unchecked; the message says what happened and
 * what to do. When the operation had already changed something and undid it, {@link #rolledBack()}
 * lists what was undone (empty when nothing had changed).
 */
public class OperationException extends RuntimeException {
  private final List<String> rolledBack = new ArrayList<>();

  public OperationException(String message) {
    super(message);
  }

  public OperationException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The steps that undid this operation's changes, in the order they ran. */
  public synchronized List<String> rolledBack() {
    return List.copyOf(rolledBack);
  }

  /** Records rollback steps; called by the flow that undid its changes before failing. */
  public synchronized OperationException withRollback(List<String> steps) {
    rolledBack.addAll(steps);
    return this;
  }

  @Override
  public String getMessage() {
    List<String> steps = rolledBack();
    return steps.isEmpty() ? super.getMessage()
        : super.getMessage() + " (rolled back: " + String.join("; ", steps) + ")";
  }
}
