package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code qmp-sidecar devices}: attach, detach and list a VM's devices through a running sidecar. */
@Command(
    name = "devices",
    mixinStandardHelpOptions = true,
    description = {"Attach, detach and list devices of a VM through a running sidecar.",
        "list and detach also work directly on QEMU's QMP socket (--qmp)."},
    subcommands = {DevicesListCommand.class, DevicesAttachCommand.class, DevicesDetachCommand.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:done (a detach the guest has not acknowledged yet is PENDING, and done)",
      "1:QEMU refused, the guest refused, the host function is not ready, or a conflict",
      "2:usage error",
      "3:denied by the sidecar's policy (or by --policy/--preset with --qmp)",
      "4:cannot reach the sidecar or QEMU, it timed out, the VM is not connected, or --wait ended before the device was gone"
    })
final class DevicesCommand implements Runnable {
  /** The fields of an attachment a table shows, in this order. */
  static final List<String> COLUMNS = List.of("id", "driver", "hostBdf", "rootPort", "guestAddress", "state", "opId");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** The attachment reduced to {@link #COLUMNS} for a table; absent values are shown as -. */
  static ObjectNode row(JsonNode attachment) {
    ObjectNode row = JsonNodeFactory.instance.objectNode();
    COLUMNS.forEach(c -> row.put(c, attachment.hasNonNull(c) ? attachment.get(c).asText() : "-"));
    return row;
  }

  /** What {@code devices list VM} prints for the API's list of VM's attachments (the lean path prints it too). */
  static String listText(String vm, JsonNode list, ExecOutput.Format output) {
    if (output == ExecOutput.Format.json) {
      return ExecOutput.render(list, output);
    }
    if (list.isEmpty()) {
      return "no devices attached to " + vm;
    }
    ArrayNode rows = JsonNodeFactory.instance.arrayNode();
    list.forEach(a -> rows.add(row(a)));
    return ExecOutput.render(rows, output);
  }

  /** The path of a VM, with the name escaped. */
  static String vmPath(String vm) {
    return "/v1/vms/" + URLEncoder.encode(vm, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
