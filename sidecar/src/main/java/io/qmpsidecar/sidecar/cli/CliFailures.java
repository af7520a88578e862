package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * Every failure a command meets ends here: printed as one line on the command's err (the whole
 * stack trace only with {@code QMP_SIDECAR_DEBUG=1}) and turned into the exit code of its kind,
 * in one switch (docs/cli.md, "Exit codes"). The daemon's own failures ({@code run}) are prefixed
 * with its name, as its log lines are.
 */
final class CliFailures implements CommandLine.IExecutionExceptionHandler {

  @Override
  public int handleExecutionException(Exception ex, CommandLine cli, CommandLine.ParseResult parsed) {
    cli.getOut().flush();
    return report(ex, "run".equals(cli.getCommandName()), cli.getErr());
  }

  /** Prints the failure on {@code err} as above ({@code daemon}: {@code run}'s) and returns its exit code. */
  static int report(Exception ex, boolean daemon, PrintWriter err) {
    SidecarException e = SidecarException.from(ex);
    err.println((daemon ? "qmp-sidecar: " : "") + e.getMessage());
    if ("1".equals(System.getenv("QMP_SIDECAR_DEBUG"))) {
      ex.printStackTrace(err);
    }
    err.flush();
    return exitCode(e.kind());
  }

  /** The exit code of each kind of failure. */
  static int exitCode(SidecarException.Kind kind) {
    return switch (kind) {
      case INVALID -> ExitCodes.USAGE;
      case DENIED -> ExitCodes.DENIED;
      case THROTTLED, BUSY, UNAVAILABLE, TIMEOUT, PROTOCOL, GUEST_TIMEOUT -> ExitCodes.UNREACHABLE;
      case CONFIGURATION, NOT_FOUND, CONFLICT, MIGRATING, MIGRATION_BLOCKED, HOST_PREREQUISITE, QEMU_ERROR, FAILED,
          INTERNAL -> ExitCodes.INVALID;
    };
  }
}
