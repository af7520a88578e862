package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmp-sidecar migrate cancel VM}: asks the sidecar to cancel VM's migration and roll back;
 * with {@code --qmp}, sends QEMU {@code migrate_cancel} itself.
 */
@Command(name = "cancel", mixinStandardHelpOptions = true,
    description = {"Cancel VM's running migration; the sidecar rolls back (migrate status --follow shows the end).",
        "With --qmp: QEMU's migrate_cancel, nothing to roll back; VM may be left out."})
final class MigrateCancelCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;

  @Parameters(index = "0", arity = "0..1", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The source VM (with --qmp optional: only a name for messages).")
  String vm;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table", description = "table (default) or json.")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (qmp.given(cli)) {
      return qmp.run(cli, policy, api.timeoutSeconds, this::direct);
    }
    DirectQmp.required(cli, vm, "VM");
    return ApiClient.run(cli, api, client -> {
      JsonNode run;
      try {
        run = client.call(HttpMethod.DELETE, MigrateCommand.path(vm) + "/migration", null).body();
      } catch (SidecarException e) {
        if (!e.code().endsWith(":migration-ended")) {
          throw e;
        }
        String state = client.call(HttpMethod.GET, MigrateCommand.path(vm) + "/migration", null).body()
            .path("state").asText();
        return nothingToCancel("the migration of " + vm + " already ended " + state, vm);
      }
      print(vm, run);
      return ExitCodes.OK;
    });
  }

  /** {@code migrate_cancel} when QEMU migrates; QEMU's status after it (cancelling, then cancelled). */
  private int direct(DirectQmp session) {
    MigrationInfo info = session.call(QmpCommands.queryMigrate());
    String target = (vm != null ? vm + " " : "") + "--qmp " + session.address();
    if (info.status().equals("none")) {
      return nothingToCancel(session.who(vm) + " has not migrated since it started", target);
    }
    if (!info.isActive()) {
      return nothingToCancel("the migration of " + session.who(vm) + " already ended "
          + DirectMigration.run(info, vm).path("state").asText(), target);
    }
    session.call(QmpCommands.migrateCancel());
    print(session.who(vm), DirectMigration.run(session.call(QmpCommands.queryMigrate()), vm));
    return ExitCodes.OK;
  }

  private int nothingToCancel(String why, String target) {
    spec.commandLine().getErr().println("nothing to cancel: " + why + "; qmp-sidecar migrate status " + target
        + " shows it");
    return ExitCodes.INVALID;
  }

  private void print(String who, JsonNode run) {
    spec.commandLine().getOut().println(output == ExecOutput.Format.json ? ExecOutput.render(run, output)
        : "cancel requested: " + who + " " + MigrateProgress.line(run));
  }
}
