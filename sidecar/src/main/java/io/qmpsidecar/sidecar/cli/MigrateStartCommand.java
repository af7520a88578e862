package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmp-sidecar migrate start VM --to DEST --uri URI}: starts a coordinated migration. */
@Command(name = "start", mixinStandardHelpOptions = true,
    description = {"Migrate VM to DEST, another VM of the same sidecar started with -incoming defer.",
        "Attached functions follow --strategy; prints the run's state (--follow: until it ends)."})
final class MigrateStartCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin MigrateStatusCommand.Follow follow;

  @Parameters(index = "0", paramLabel = "VM", description = "The source VM.")
  String vm;

  @Option(names = "--to", required = true, paramLabel = "DEST_VM", description = "The destination VM.")
  String destination;

  @Option(names = "--uri", required = true, paramLabel = "URI", description = "Migration URI, e.g. tcp:127.0.0.1:4444.")
  String uri;

  @Option(names = "--strategy", paramLabel = "STRATEGY", defaultValue = "unplug-replug",
      description = "unplug-replug (default), vfio-migration, failover or block.")
  String strategy;

  @Option(names = "--max-bandwidth", paramLabel = "BYTES", description = "QEMU's max-bandwidth, bytes per second.")
  Long maxBandwidth;

  @Option(names = "--downtime-limit", paramLabel = "MS", description = "QEMU's downtime-limit, milliseconds.")
  Long downtimeLimit;

  @Override
  public Integer call() {
    if (maxBandwidth != null && maxBandwidth < 1 || downtimeLimit != null && downtimeLimit < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--max-bandwidth and --downtime-limit must be >= 1");
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
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode run = client.call(HttpMethod.POST, MigrateCommand.path(vm) + "/migrations", body).body();
      if (!follow.follow) {
        spec.commandLine().getOut().println(follow.output == ExecOutput.Format.json ? ExecOutput.render(run, follow.output)
            : "started: " + vm + " -> " + destination + " " + MigrateProgress.line(run));
        return ExitCodes.OK;
      }
      return follow.follow(spec.commandLine(), client, vm);
    });
  }
}
