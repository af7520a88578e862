package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.http.HttpMethod;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmp-sidecar vms update VM [--qemu PATH]}: live-updates the VM's QEMU through the
 * sidecar and prints the outcome; waits as long as the update may take.
 */
@Command(name = "update", mixinStandardHelpOptions = true,
    description = {"Live-update VM: a new QEMU process (--qemu, default: the binary the running one was started",
        "from, as a package upgrade replaced it) takes over the running guest through cpr-transfer; attached",
        "functions stay attached. Prints the new process, the downtime and the devices carried over.",
        "See docs/live-update.md for what the VM needs at launch."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:updated", "1:refused or failed (the old QEMU runs on, as the message says)",
        "2:usage error", "3:denied by the policy", "4:cannot reach the sidecar"})
final class VmsUpdateCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Parameters(index = "0", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The VM to update.")
  String vm;

  @Option(names = "--qemu", paramLabel = "PATH",
      description = "The new qemu-system binary (default: the running QEMU's own path).")
  Path qemu;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default) or json.")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    api.operationWait(cli);
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    if (qemu != null) {
      body.put("qemu", qemu.toAbsolutePath().normalize().toString());
    }
    return ApiClient.run(cli, api, client -> {
      JsonNode result = client.call(HttpMethod.POST, MigrateCommand.path(vm) + "/live-update", body).body();
      cli.getOut().println(ExecOutput.render(result, output));
      return ExitCodes.OK;
    });
  }
}
