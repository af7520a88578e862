package io.qmpsidecar.sidecar.automation;

/** The {@code SidecarEvent#type()} values automation publishes (docs/automation.md). */
public final class AutomationEvents {
  /** A rule's action ran; {@code result} is QEMU's answer. */
  public static final String RAN = "automation.ran";
  /** The policy denied a rule's action (or its rate limit did); nothing ran. */
  public static final String DENIED = "automation.denied";
  /** A rule's action was allowed and failed (QEMU refused it, the VM was not connected, ...). */
  public static final String FAILED = "automation.failed";
  /** Rule actions were dropped: the global bound, a VM's queue, or the rules fell behind the stream. */
  public static final String DROPPED = "automation.dropped";
  /** A hook exited 0. */
  public static final String HOOK_RAN = "hook.ran";
  /** A prepare hook exited non-zero: it refused the operation. */
  public static final String HOOK_REFUSED = "hook.refused";
  /** A hook exited non-zero, was killed at its timeout, or could not be started. */
  public static final String HOOK_FAILED = "hook.failed";
  /** Hook runs were dropped: the hook's queue was full, or the hooks fell behind the stream. */
  public static final String HOOK_DROPPED = "hook.dropped";

  private AutomationEvents() {}

  /**
   * Whether {@code type} reports automation itself: such events go to the stream and the log but
   * are offered to neither rules nor hooks, so no automation can feed on its own reports.
   */
  public static boolean isReport(String type) {
    return type.startsWith("automation.") || type.startsWith("hook.");
  }
}
