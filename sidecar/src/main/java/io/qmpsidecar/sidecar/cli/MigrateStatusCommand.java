package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.http.HttpMethod;
import java.io.PrintWriter;
import java.io.Writer;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmp-sidecar migrate status VM}: the current or last migration of VM; with {@code --qmp},
 * QEMU's own ({@code query-migrate}).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Print the current or last migration of VM: state, QEMU's phase, RAM progress, error.",
        "--follow: a progress bar on a terminal, else a line per change, until the migration ends.",
        "With --qmp: QEMU's own migration state (query-migrate); VM may be left out."})
final class MigrateStatusCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;
  @Mixin Follow follow;

  @Parameters(index = "0", arity = "0..1", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The source VM (with --qmp optional: only a name for messages).")
  String vm;

  /** {@code --follow}, {@code --max-time} and {@code --output}, shared with {@code migrate start}. */
  static final class Follow {
    @Option(names = {"-f", "--follow"}, description = "Show progress until the migration ends; exit 0 when COMPLETED.")
    boolean follow;

    @Option(names = "--max-time", paramLabel = "SECONDS", defaultValue = "600",
        description = "With --follow: give up after this long (default ${DEFAULT-VALUE}).")
    long maxTime;

    @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
        description = "table (default) or json; with --follow, json prints the final status.")
    ExecOutput.Format output;

    /** Follows the sidecar's run of VM; prints the final status in json mode and the error of a failed run. */
    int follow(CommandLine cli, ApiClient client, String vm) {
      return follow(cli, () -> client.call(HttpMethod.GET, MigrateCommand.path(vm) + "/migration", null).body(), vm, vm);
    }

    /** Follows QEMU's own migration (--qmp); {@code vm} is the name given for it, or null. */
    int follow(CommandLine cli, DirectQmp session, String vm) {
      return follow(cli, () -> DirectMigration.current(session, vm), session.who(vm),
          (vm != null ? vm + " " : "") + "--qmp " + session.address());
    }

    /**
     * @param read the run's status in the sidecar's shape
     * @param who names the migrating VM in messages
     * @param target the arguments that name the migration again on the command line
     */
    private int follow(CommandLine cli, Supplier<JsonNode> read, String who, String target) {
      if (maxTime < 1) {
        throw new CommandLine.ParameterException(cli, "--max-time must be >= 1");
      }
      boolean bar = output == ExecOutput.Format.table && CommandLine.Help.Ansi.AUTO.enabled();
      MigrateProgress progress = new MigrateProgress(output == ExecOutput.Format.table ? cli.getOut()
          : new PrintWriter(Writer.nullWriter()), bar);
      JsonNode run = progress.follow(read, Duration.ofSeconds(maxTime));
      if (run == null) {
        cli.getErr().println("the migration of " + who + " did not end within --max-time " + maxTime
            + " s; it goes on: qmp-sidecar migrate status " + target + " --follow, or cancel it: qmp-sidecar migrate cancel "
            + target);
        return ExitCodes.UNREACHABLE;
      }
      if (output == ExecOutput.Format.json) {
        cli.getOut().println(ExecOutput.render(run, output));
      }
      if (run.path("state").asText().equals("COMPLETED")) {
        return ExitCodes.OK;
      }
      cli.getErr().println("the migration of " + who + " ended " + run.path("state").asText()
          + (run.hasNonNull("error") ? ": " + run.path("error").asText() : ""));
      return ExitCodes.INVALID;
    }
  }

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (qmp.given(cli)) {
      return qmp.run(cli, policy, api.timeoutSeconds, session -> {
        if (follow.follow) {
          return follow.follow(cli, session, vm);
        }
        cli.getOut().println(MigrateCommand.statusText(DirectMigration.current(session, vm), follow.output));
        return ExitCodes.OK;
      });
    }
    DirectQmp.required(cli, vm, "VM");
    return ApiClient.run(cli, api, client -> {
      if (follow.follow) {
        return follow.follow(spec.commandLine(), client, vm);
      }
      JsonNode run = client.call(HttpMethod.GET, MigrateCommand.path(vm) + "/migration", null).body();
      spec.commandLine().getOut().println(MigrateCommand.statusText(run, follow.output));
      return ExitCodes.OK;
    });
  }
}
