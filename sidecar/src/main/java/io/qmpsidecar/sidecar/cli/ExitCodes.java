package io.qmpsidecar.sidecar.cli;

/** The CLI's exit codes; stable, documented in docs/cli.md. */
final class ExitCodes {
  /** Done; valid; allowed. */
  static final int OK = 0;
  /** Invalid input file, or QEMU answered with an error. */
  static final int INVALID = 1;
  /** Wrong command-line usage (picocli's own code). */
  static final int USAGE = 2;
  /** Denied by policy. */
  static final int DENIED = 3;
  /** Cannot reach QEMU or the sidecar, or it timed out. */
  static final int UNREACHABLE = 4;

  private ExitCodes() {}
}
