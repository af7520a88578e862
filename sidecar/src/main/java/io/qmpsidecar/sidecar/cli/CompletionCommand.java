package io.qmpsidecar.sidecar.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code qmp-sidecar completion}: prints the bash (and zsh, through bashcompinit) completion
 * script that picocli generates from the command tree, so it always matches this build, with the
 * VM names asked of the running sidecar ({@link Completions}).
 */
@Command(name = "completion", mixinStandardHelpOptions = true,
    description = {"Print the shell completion script for bash and zsh.",
        "Load it with: source <(qmp-sidecar completion)"})
final class CompletionCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    String picocli = AutoComplete.bash(spec.root().name(), spec.root().commandLine());
    spec.commandLine().getOut().print(Completions.bash(picocli));
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
