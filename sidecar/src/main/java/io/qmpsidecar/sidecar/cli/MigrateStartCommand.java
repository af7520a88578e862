package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * {@code qmp-sidecar migrate start VM --to DEST --uri URI}: starts a coordinated migration. With
 * {@code --qmp}: a plain {@code migrate} to {@code --uri}, the URI checked as the sidecar checks
 * it, refused while QEMU migrates or blocks migration; no functions are detached or re-attached.
 */
@Command(name = "start", mixinStandardHelpOptions = true,
    description = {"Migrate VM to DEST, another VM of the same sidecar started with -incoming defer.",
        "Attached functions follow --strategy; prints the run's state (--follow: until it ends).",
        "With --qmp: a plain migrate to --uri (a QEMU waiting with migrate-incoming), no --to or --strategy."})
final class MigrateStartCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;
  @Mixin MigrateStatusCommand.Follow follow;

  @Parameters(index = "0", arity = "0..1", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The source VM (with --qmp optional: only a name for messages).")
  String vm;

  @Option(names = "--to", paramLabel = "DEST_VM", completionCandidates = Completions.VmNames.class,
      description = "The destination VM (required without --qmp).")
  String destination;

  @Option(names = "--uri", required = true, paramLabel = "URI", description = "Migration URI, e.g. tcp:127.0.0.1:4444.")
  String uri;

  @Option(names = "--strategy", paramLabel = "STRATEGY", defaultValue = "unplug-replug",
      completionCandidates = Completions.Strategies.class,
      description = "unplug-replug (default), vfio-migration, failover, block, or auto (chosen per function from"
          + " what QEMU reports).")
  String strategy;

  @Option(names = "--max-bandwidth", paramLabel = "BYTES", description = "QEMU's max-bandwidth, bytes per second.")
  Long maxBandwidth;

  @Option(names = "--downtime-limit", paramLabel = "MS", description = "QEMU's downtime-limit, milliseconds.")
  Long downtimeLimit;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (maxBandwidth != null && maxBandwidth < 1 || downtimeLimit != null && downtimeLimit < 1) {
      throw new CommandLine.ParameterException(cli, "--max-bandwidth and --downtime-limit must be >= 1");
    }
    if (qmp.given(cli)) {
      DirectQmp.sidecarOnly(cli, "only the sidecar knows the destination VM and detaches functions by strategy",
          "--to", "--strategy");
      return direct(cli);
    }
    DirectQmp.required(cli, vm, "VM");
    if (destination == null) {
      throw new CommandLine.ParameterException(cli, "Missing required option: '--to=DEST_VM'");
    }
    ObjectNode body = JsonNodeFactory.instance.objectNode().put("destination", destination).put("uri", uri)
        .put("strategy", strategy);
    ObjectNode parameters = body.putObject("parameters");
    if (maxBandwidth != null) {
      parameters.put("maxBandwidth", maxBandwidth);
    }
    if (downtimeLimit != null) {
      parameters.put("downtimeLimitMs", downtimeLimit);
    }
    return ApiClient.run(cli, api, client -> {
      JsonNode run = client.call(HttpMethod.POST, MigrateCommand.path(vm) + "/migrations", body).body();
      if (!follow.follow) {
        cli.getOut().println(follow.output == ExecOutput.Format.json ? ExecOutput.render(run, follow.output)
            : "started: " + vm + " -> " + destination + " " + MigrateProgress.line(run));
        return ExitCodes.OK;
      }
      return follow.follow(cli, client, vm);
    });
  }

  /**
   * The URI checked before connecting, as the sidecar checks it; then refused while QEMU
   * migrates or reports blockers; then the parameters and {@code migrate}, each decided by
   * {@code --policy}/{@code --preset}.
   */
  private int direct(CommandLine cli) {
    return qmp.run(cli, policy, api.timeoutSeconds, session -> {
      try {
        new MigrationDriver().checkUri(session.who(vm), uri);
      } catch (SidecarException e) {
        throw ApiClient.failure(e.kind(), "The migration was refused: " + e.getMessage());
      }
      MigrationInfo before = session.call(QmpCommands.queryMigrate());
      if (before.isActive()) {
        throw ApiClient.failure(Kind.CONFLICT, "The migration was refused: " + session.who(vm)
            + " is already migrating (" + before.status() + "); follow it with qmp-sidecar migrate status --qmp "
            + session.address() + " --follow, or cancel it with qmp-sidecar migrate cancel --qmp " + session.address());
      }
      if (!before.blockedReasons().isEmpty()) {
        throw ApiClient.failure(Kind.MIGRATION_BLOCKED, "QEMU blocks the migration: "
            + String.join("; ", before.blockedReasons()) + " (through the sidecar, migrate start detaches DPU"
            + " functions first, by --strategy)");
      }
      ObjectNode parameters = JsonNodeFactory.instance.objectNode();
      if (maxBandwidth != null) {
        parameters.put("max-bandwidth", maxBandwidth);
      }
      if (downtimeLimit != null) {
        parameters.put("downtime-limit", downtimeLimit);
      }
      if (!parameters.isEmpty()) {
        session.call(QmpCommands.migrateSetParameters(parameters));
      }
      session.call(QmpCommands.migrate(uri));
      if (follow.follow) {
        return follow.follow(cli, session, vm);
      }
      JsonNode run = DirectMigration.current(session, vm);
      cli.getOut().println(follow.output == ExecOutput.Format.json ? ExecOutput.render(run, follow.output)
          : "started: " + session.who(vm) + " -> " + uri + " " + MigrateProgress.line(run));
      return ExitCodes.OK;
    });
  }
}
