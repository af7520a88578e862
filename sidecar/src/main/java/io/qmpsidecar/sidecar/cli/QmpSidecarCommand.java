package io.qmpsidecar.sidecar.cli;

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
public final class QmpSidecarCommand implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
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
