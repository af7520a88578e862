package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vertx.core.http.HttpMethod;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmp-sidecar devices list VM}: the VM's attachments as the sidecar stored them. */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = "List the devices the sidecar attached to VM, with their root port and state.")
final class DevicesListCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Parameters(index = "0", paramLabel = "VM", description = "The VM's name.")
  String vm;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default; id, driver, hostBdf, rootPort, guestAddress, state, opId) or json (every field).")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode list = client.call(HttpMethod.GET, DevicesCommand.vmPath(vm) + "/devices", null).body();
      String text;
      if (output == ExecOutput.Format.json) {
        text = ExecOutput.render(list, output);
      } else if (list.isEmpty()) {
        text = "no devices attached to " + vm;
      } else {
        ArrayNode rows = JsonNodeFactory.instance.arrayNode();
        list.forEach(a -> rows.add(DevicesCommand.row(a)));
        text = ExecOutput.render(rows, output);
      }
      spec.commandLine().getOut().println(text);
      return ExitCodes.OK;
    });
  }
}
