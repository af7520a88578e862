package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.ObjectProperty;
import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpCommands;
import io.vertx.core.http.HttpMethod;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code qmp-sidecar devices list VM}: the VM's attachments as the sidecar stored them; with
 * {@code --qmp}, the devices QEMU has ({@code /machine/peripheral}) and where they sit on PCI.
 */
@Command(name = "list", mixinStandardHelpOptions = true,
    description = {"List the devices the sidecar attached to VM, with their root port and state.",
        "With --qmp: QEMU's own view, every device with an id and its PCI place (not the sidecar's records)."})
final class DevicesListCommand implements Callable<Integer> {
  /** The columns of a direct listing, all from QEMU. */
  static final List<String> DIRECT_COLUMNS = List.of("id", "driver", "rootPort", "guestAddress");
  private static final String PERIPHERAL = "/machine/peripheral";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;

  @Parameters(index = "0", arity = "0..1", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The VM's name (with --qmp optional: only a name for messages).")
  String vm;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = {"table (default; id, driver, hostBdf, rootPort, guestAddress, state, opId;",
          "with --qmp: id, driver, rootPort, guestAddress) or json (every field)."})
  ExecOutput.Format output;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (qmp.given(cli)) {
      return qmp.run(cli, policy, api.timeoutSeconds, this::direct);
    }
    String name = DirectQmp.required(cli, vm, "VM");
    return ApiClient.run(cli, api, client -> {
      JsonNode list = client.call(HttpMethod.GET, DevicesCommand.vmPath(name) + "/devices", null).body();
      cli.getOut().println(DevicesCommand.listText(name, list, output));
      return ExitCodes.OK;
    });
  }

  /**
   * The children of {@code /machine/peripheral} (devices added with an id) with their driver
   * from the QOM type, and from {@code query-pci} the root port or bridge they sit behind and
   * their guest address; null (table: -) for what QEMU does not place on PCI. A device behind a
   * bridge the guest's firmware has not numbered yet (at boot, after a reset) is missing from
   * {@code query-pci}: its bridge comes from its {@code parent_bus}, and it has no guest address.
   */
  private int direct(DirectQmp session) {
    List<ObjectProperty> children = session.call(QmpCommands.qomList(PERIPHERAL));
    Map<String, String[]> placement = new HashMap<>();
    Set<String> bridges = new HashSet<>();
    place(session.call(QmpCommands.queryPci()), null, placement, bridges);
    ArrayNode devices = JsonNodeFactory.instance.arrayNode();
    children.stream().filter(p -> p.type().startsWith("child<")).sorted(Comparator.comparing(ObjectProperty::name))
        .forEach(p -> {
          String[] where = placement.computeIfAbsent(p.name(), id -> new String[] {unnumberedBridge(session, id, bridges), null});
          devices.addObject().put("id", p.name()).put("driver", p.type().substring(6, p.type().length() - 1))
              .put("rootPort", where[0]).put("guestAddress", where[1]);
        });
    String text;
    if (output == ExecOutput.Format.json) {
      text = ExecOutput.render(devices, output);
    } else if (devices.isEmpty()) {
      text = "no devices with an id in " + session.who(vm) + " (" + PERIPHERAL
          + " is empty)";
    } else {
      ArrayNode rows = JsonNodeFactory.instance.arrayNode();
      devices.forEach(d -> {
        ObjectNode row = rows.addObject();
        DIRECT_COLUMNS.forEach(c -> row.put(c, d.hasNonNull(c) ? d.get(c).asText() : "-"));
      });
      text = ExecOutput.render(rows, output);
    }
    spec.commandLine().getOut().println(text);
    return ExitCodes.OK;
  }

  /**
   * Records each device's {root port or bridge id, guest address}, and the ids of bridges,
   * walking bridges depth first.
   */
  private static void place(List<PciDevice> devices, String parent, Map<String, String[]> placement, Set<String> bridges) {
    for (PciDevice d : devices) {
      if (!d.qdevId().isEmpty()) {
        placement.put(d.qdevId(), new String[] {parent, d.address()});
        if (d.isBridge()) {
          bridges.add(d.qdevId());
        }
      }
      place(d.children(), d.qdevId().isEmpty() ? null : d.qdevId(), placement, bridges);
    }
  }

  /**
   * The id of the bridge whose bus holds device {@code id} ({@code parent_bus} is the bus's QOM
   * path, a child of its bridge: {@code /machine/peripheral/rp1/rp1}), or null when that is not
   * one of {@code bridges}.
   */
  private static String unnumberedBridge(DirectQmp session, String id, Set<String> bridges) {
    String bus = session.call(QmpCommands.qomGet(PERIPHERAL + "/" + id, "parent_bus")).asText("");
    String owner = bus.contains("/") ? bus.substring(0, bus.lastIndexOf('/')) : "";
    String bridge = owner.startsWith(PERIPHERAL + "/") ? owner.substring(PERIPHERAL.length() + 1) : "";
    return bridges.contains(bridge) ? bridge : null;
  }
}
