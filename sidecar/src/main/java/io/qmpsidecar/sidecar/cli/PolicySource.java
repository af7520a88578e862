package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.Policy;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The policy a {@code policy} subcommand works on: a FILE, or a shipped preset by name. */
final class PolicySource {

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "FILE",
      description = "Policy file (YAML, or JSON when the name ends in .json).")
  Path file;

  @Option(
      names = "--preset",
      paramLabel = "NAME",
      description = "A preset shipped with qmp-sidecar instead of a file: default, dpu.")
  String preset;

  /**
   * Loads the policy.
   *
   * @throws CommandLine.ParameterException when neither or both of FILE and --preset are given
   * @throws io.qmpsidecar.policy.PolicyLoadException when the policy is invalid
   */
  Policy load(CommandLine commandLine) {
    if ((file == null) == (preset == null)) {
      throw new CommandLine.ParameterException(commandLine,
          "give either a policy FILE or --preset NAME (" + String.join(", ", Policies.PRESETS)
              + ")");
    }
    return file != null ? Policies.load(file) : Policies.preset(preset);
  }
}
