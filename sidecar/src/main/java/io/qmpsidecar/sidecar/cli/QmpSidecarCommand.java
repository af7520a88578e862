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
    return versionEverywhere(new CommandLine(new QmpSidecarCommand()).setExecutionExceptionHandler(new CliFailures()));
  }

  /** {@code -V} prints this build's version on every command, whether or not its class names a provider. */
  private static CommandLine versionEverywhere(CommandLine cli) {
    cli.getCommandSpec().versionProvider(new VersionProvider());
    cli.getSubcommands().values().forEach(QmpSidecarCommand::versionEverywhere);
    return cli;
  }

  /**
   * Builds the command line with {@code run} as the only subcommand: the same parsing, help and
   * failures for {@code run}, without the reflection over every other command's options (picocli
   * is compiled for Java 5, so the class-data archive cannot hold its classes and each one it
   * loads is verified at start).
   */
  static CommandLine daemonCommandLine() {
    return versionEverywhere(new CommandLine(new Daemon()).setExecutionExceptionHandler(new CliFailures()));
  }

  public static void main(String[] args) {
    CommandLine cli = args.length > 0 && args[0].equals("run") ? daemonCommandLine() : commandLine();
    System.exit(cli.execute(args));
  }

  /** The top command as the daemon sees it: {@code qmp-sidecar run}. */
  @Command(name = "qmp-sidecar", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
      subcommands = RunCommand.class)
  static final class Daemon {}
}
