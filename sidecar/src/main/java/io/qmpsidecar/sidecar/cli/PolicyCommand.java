package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.policy.PolicyError;
import io.qmpsidecar.policy.PolicyLoadException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code qmp-sidecar policy}: validates policy files and explains decisions. Exit codes (also in
 * docs/policies.md): 0 valid / allowed, 1 invalid policy, 2 usage error, 3 denied.
 */
@Command(
    name = "policy",
    mixinStandardHelpOptions = true,
    description = "Check policy files and explain the decisions they make.",
    subcommands = {PolicyCheckCommand.class, PolicyExplainCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:the policy is valid / the request is allowed",
      "1:the policy is invalid (every error is printed)",
      "2:usage error",
      "3:the request is denied"
    })
public final class PolicyCommand implements Runnable {

  /** The policy is valid, or the request is allowed. */
  public static final int OK = 0;
  /** The policy file is invalid or unreadable. */
  public static final int INVALID = 1;
  /** The request is denied. */
  public static final int DENIED = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Prints every load error, one line each, then a summary; returns {@link #INVALID}. */
  static int printInvalid(PolicyLoadException e, PrintWriter err) {
    for (PolicyError error : e.errors()) {
      err.println(error);
    }
    String source = e.errors().get(0).file();
    int n = e.errors().size();
    err.println("INVALID: " + source + ": " + n + (n == 1 ? " error" : " errors")
        + "; nothing of this policy was applied");
    err.flush();
    return INVALID;
  }
}
