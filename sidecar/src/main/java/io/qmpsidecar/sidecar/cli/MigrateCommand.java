package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code qmp-sidecar migrate}: start, follow and cancel a coordinated migration through a running sidecar. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = {"Start, follow and cancel a coordinated migration between two VMs of a running sidecar.",
        "With --qmp: QEMU's own migration (query-migrate, migrate_cancel, a plain migrate) on its QMP socket."},
    subcommands = {MigrateStartCommand.class, MigrateStatusCommand.class, MigrateCancelCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:started / status read / cancel requested; with --follow: COMPLETED",
      "1:refused, rolled back, failed or cancelled (the error is printed), no migration of this VM, or nothing to cancel",
      "2:usage error",
      "3:denied by the sidecar's policy (or by --policy/--preset with --qmp)",
      "4:cannot reach the sidecar or QEMU, it timed out, or --follow did not end within --max-time"
    })
final class MigrateCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /**
   * The run reduced to what a table shows: where, the state, the sidecar's phase, QEMU's status,
   * RAM progress and any error; where and the phase only when known (not with --qmp).
   */
  static ObjectNode row(JsonNode run) {
    JsonNode source = run.path("source");
    JsonNode progress = source.path("progress");
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    for (String where : new String[] {"vm", "destination"}) {
      if (run.hasNonNull(where)) {
        row.put(where, run.get(where).asText());
      }
    }
    row.put("state", run.path("state").asText());
    if (source.has("phase")) {
      row.put("phase", source.get("phase").asText());
    }
    row.put("qemuStatus", source.path("qemuStatus").asText("-"))
        .put("transferred", MigrateProgress.bytes(progress.path("transferredBytes").asLong(-1)))
        .put("remaining", MigrateProgress.bytes(progress.path("remainingBytes").asLong(-1)))
        .put("total", MigrateProgress.bytes(progress.path("totalBytes").asLong(-1)));
    if (source.path("downtimeMs").asLong(-1) >= 0) {
      row.put("downtimeMs", source.path("downtimeMs").asLong());
    }
    if (run.hasNonNull("error")) {
      row.put("error", run.path("error").asText());
    }
    return row;
  }

  /** What {@code migrate status} prints for a run: all of it as json, its {@link #row} as a table. */
  static String statusText(JsonNode run, ExecOutput.Format output) {
    return ExecOutput.render(output == ExecOutput.Format.json ? run : row(run), output);
  }

  /** The API path of a VM's migration resources. */
  static String path(String vm) {
    return DevicesCommand.vmPath(vm);
  }
}
