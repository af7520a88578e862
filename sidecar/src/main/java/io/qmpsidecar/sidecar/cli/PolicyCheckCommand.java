package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.policy.Policy;
import io.qmpsidecar.policy.PolicyLoadException;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code qmp-sidecar policy check}: validates a policy and prints what it holds. */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    description = "Validate a policy: print every error with file, line and field, or a summary.")
final class PolicyCheckCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin PolicySource source;

  @Override
  public Integer call() {
    Policy policy;
    try {
      policy = source.load(spec.commandLine());
    } catch (PolicyLoadException e) {
      return PolicyCommand.printInvalid(e, spec.commandLine().getErr());
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println("OK: " + policy.source() + ": policy '" + policy.name() + "' (schema "
        + policy.version() + ", match " + policy.matchMode().name().toLowerCase(Locale.ROOT)
            .replace('_', '-') + "): " + count(policy.ruleIds().size(), "rule") + ", "
        + count(policy.rateLimitIds().size(), "rate limit") + ", "
        + count(policy.automationIds().size(), "automation rule"));
    out.flush();
    return PolicyCommand.OK;
  }

  private static String count(int n, String noun) {
    return n + " " + noun + (n == 1 ? "" : "s");
  }
}
