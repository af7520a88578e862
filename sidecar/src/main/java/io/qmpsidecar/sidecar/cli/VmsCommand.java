package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.VmStatus;
import io.vertx.core.http.HttpMethod;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qmp-sidecar vms}: the VMs a running sidecar serves and their QMP connection state; with
 * {@code --qmp}, the one VM at that socket with its run state.
 */
@Command(
    name = "vms",
    mixinStandardHelpOptions = true,
    subcommands = VmsUpdateCommand.class,
    description = {"List the VMs of a running sidecar: name, QMP socket, connection state, QEMU version.",
        "With --qmp: the one VM at that socket, with its run state (query-status)."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:listed", "1:QEMU answered with an error (--qmp)", "2:usage error",
        "3:denied by --policy/--preset (--qmp)", "4:cannot reach the sidecar or QEMU"})
final class VmsCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default) or json.")
  ExecOutput.Format output;

  @Option(names = "--names", description = "Only the VMs' names, one per line (the shell completion asks for them).")
  boolean names;

  @Override
  public Integer call() {
    if (qmp.given(spec.commandLine())) {
      if (names) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--names lists the VMs a sidecar serves;"
            + " with --qmp there is one VM and QEMU does not know its name");
      }
      return qmp.run(spec.commandLine(), policy, api.timeoutSeconds, this::direct);
    }
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode vms = client.call(HttpMethod.GET, "/v1/vms", null).body();
      spec.commandLine().getOut().print(names ? names(vms) : text(vms, output) + System.lineSeparator());
      spec.commandLine().getOut().flush();
      return ExitCodes.OK;
    });
  }

  /** What {@code vms} prints for the API's list of VMs (the lean path prints it too). */
  /** The VMs' names, each on its line (nothing for none), for the shell completion. */
  static String names(JsonNode vms) {
    StringBuilder names = new StringBuilder();
    vms.forEach(vm -> names.append(vm.path("name").asText()).append(System.lineSeparator()));
    return names.toString();
  }

  static String text(JsonNode vms, ExecOutput.Format output) {
    return vms.isEmpty() && output == ExecOutput.Format.table ? "no VMs configured" : ExecOutput.render(vms, output);
  }

  /** The API's fields of a VM that apply (no name: QEMU has none for itself), with QEMU's run state. */
  private int direct(DirectQmp session) {
    QmpConnection connection = session.connection();
    VmStatus status = session.call(QmpCommands.queryStatus());
    ObjectNode vm = JsonNodeFactory.instance.objectNode().put("qmp", session.address().toString())
        .put("state", connection.state().name().toLowerCase(Locale.ROOT)).put("qemu", connection.greeting().version().toString())
        .put("status", status.status());
    if (output == ExecOutput.Format.json) {
      vm.put("running", status.running());
    }
    ArrayNode vms = JsonNodeFactory.instance.arrayNode().add(vm);
    spec.commandLine().getOut().println(ExecOutput.render(vms, output));
    return ExitCodes.OK;
  }
}
