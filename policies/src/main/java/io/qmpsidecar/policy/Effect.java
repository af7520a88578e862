package io.qmpsidecar.policy;

/** What a decision says: the request may go to QEMU, or it may not. */
public enum Effect {
  ALLOW,
  DENY;

  /** The lower-case spelling used in policy files and output ({@code allow}, {@code deny}). */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
