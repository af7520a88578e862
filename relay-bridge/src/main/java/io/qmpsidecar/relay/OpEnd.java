package io.qmpsidecar.relay;

import java.util.Objects;

/**
 * How an operation ended: completed with a result ({@code op.completed}) or failed with an error
 * ({@code op.failed}); exactly one of the two is set.
 *
 * @param result the result when it completed, else null
 * @param error the error when it failed, else null
 */
public record OpEnd(OpResult result, RelayError error) {

  public OpEnd {
    if ((result == null) == (error == null)) {
      throw new IllegalArgumentException("an operation ends either completed (a result) or failed (an error)");
    }
  }

  public static OpEnd completed(OpResult result) {
    return new OpEnd(Objects.requireNonNull(result, "result"), null);
  }

  public static OpEnd failed(RelayError error) {
    return new OpEnd(null, Objects.requireNonNull(error, "error"));
  }

  /** The notification that reports this end for {@code opId}. */
  public Notification toNotification(String opId) {
    return result != null ? Notification.opCompleted(opId, result) : Notification.opFailed(opId, error);
  }
}
