package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmp-sidecar migrate cancel VM}: asks the sidecar to cancel VM's migration and roll back. */
@Command(name = "cancel", mixinStandardHelpOptions = true,
    description = "Cancel VM's running migration; the sidecar rolls back (migrate status --follow shows the end).")
final class MigrateCancelCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Parameters(index = "0", paramLabel = "VM", description = "The source VM.")
  String vm;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table", description = "table (default) or json.")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode run = client.call(HttpMethod.DELETE, MigrateCommand.path(vm) + "/migration", null).body();
      if (MigrateCommand.FINAL.contains(run.path("state").asText())) {
        spec.commandLine().getErr().println("nothing to cancel: the migration of " + vm + " already ended "
            + run.path("state").asText() + "; qmp-sidecar migrate status " + vm + " shows it");
        return ExitCodes.INVALID;
      }
      spec.commandLine().getOut().println(output == ExecOutput.Format.json ? ExecOutput.render(run, output)
          : "cancel requested: " + vm + " " + MigrateProgress.line(run));
      return ExitCodes.OK;
    });
  }
}
