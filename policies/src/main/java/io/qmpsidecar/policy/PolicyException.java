package io.qmpsidecar.policy;

/** Root of every error the policy module throws; unchecked, like the other modules' roots. */
public class PolicyException extends RuntimeException {

  /** Creates an exception with a message that says what happened and what to do. */
  public PolicyException(String message) {
    super(message);
  }

  /** Creates an exception with a message and the error that caused it. */
  public PolicyException(String message, Throwable cause) {
    super(message, cause);
  }
}
