package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code qmp-sidecar vms}: the VMs a running sidecar serves and their QMP connection state. */
@Command(
    name = "vms",
    mixinStandardHelpOptions = true,
    description = "List the VMs of a running sidecar: name, QMP socket, connection state, QEMU version.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:listed", "2:usage error", "4:cannot reach the sidecar"})
final class VmsCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default) or json.")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode vms = client.call(HttpMethod.GET, "/v1/vms", null).body();
      spec.commandLine().getOut().println(vms.isEmpty() && output == ExecOutput.Format.table
          ? "no VMs configured" : ExecOutput.render(vms, output));
      return ExitCodes.OK;
    });
  }
}
