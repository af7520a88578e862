package io.qmpsidecar.sidecar.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code qmp-sidecar} command line: each subcommand is one class in this package. */
@Command(
    name = "qmp-sidecar",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Host-side control plane next to QEMU for DPU functions passed through with vfio-pci.",
    subcommands = {CommandLine.HelpCommand.class, VersionCommand.class, RunCommand.class, ConfigCommand.class,
        PolicyCommand.class,
        DpuAgentCommand.class,
        ExecCommand.class,
        VmsCommand.class,
        DevicesCommand.class,
        EventsCommand.class,
        MigrateCommand.class,
        CompletionCommand.class,
        DemoCommand.class})
public final class QmpSidecarCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** No subcommand is a usage error: the usage goes to stderr and the exit code is 2. */
  @Override
  public Integer call() {
    spec.commandLine().getErr().println("qmp-sidecar needs a command (qmp-sidecar help COMMAND for one):");
    spec.commandLine().usage(spec.commandLine().getErr());
    return ExitCodes.USAGE;
  }

  /**
   * Builds the command line with every subcommand and its one failure handler; tests call this
   * and inject out and err.
   */
  public static CommandLine commandLine() {
    return new CommandLine(new QmpSidecarCommand()).setExecutionExceptionHandler(new CliFailures());
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
