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

/**
 * {@code qmp-sidecar devices attach VM}: a host function ({@code --bdf}, or {@code --pf} and
 * {@code --vf}) or an mdev ({@code --mdev}) with vfio-pci, or an emulated device ({@code --driver} and {@code --id});
 * waits for the sidecar's whole attach operation and prints the attachment. There is no
 * {@code --qmp} mode: {@code --qmp} is refused with what to use instead (docs/cli.md says why).
 */
@Command(name = "attach", mixinStandardHelpOptions = true,
    description = "Attach a host function (vfio-pci) or an emulated device to VM and print the attachment.")
final class DevicesAttachCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Parameters(index = "0", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The VM's name.")
  String vm;

  @Option(names = "--bdf", paramLabel = "BDF", description = "The host function, e.g. 0000:03:00.2.")
  String bdf;

  @Option(names = "--pf", paramLabel = "BDF", description = "The physical function whose VF to attach (with --vf).")
  String pf;

  @Option(names = "--vf", paramLabel = "N", description = "The VF index under --pf.")
  Integer vf;

  @Option(names = "--mdev", paramLabel = "UUID",
      description = "A mediated device, its name under /sys/bus/mdev/devices (never rebound).")
  String mdev;

  @Option(names = "--driver", paramLabel = "DRIVER",
      description = "QEMU driver (default vfio-pci); another driver (e1000e) attaches an emulated device.")
  String driver;

  @Option(names = "--id", paramLabel = "ID", description = "QEMU device id (needed for an emulated device).")
  String id;

  @Option(names = "--host-driver", paramLabel = "DRIVER", description = "Host driver to bind first (vfio-pci).")
  String hostDriver;

  @Option(names = "--root-port", paramLabel = "PORT", description = "Root port to plug into (default: a free one).")
  String rootPort;

  @Option(names = "--op-id", paramLabel = "ID", description = "Idempotency key: a repeat returns the first result.")
  String opId;

  @Option(names = "--enable-migration", negatable = true, description = "vfio-pci enable-migration.")
  Boolean enableMigration;

  @Option(names = "--migration-events", negatable = true, description = "vfio-pci migration-events.")
  Boolean migrationEvents;

  @Option(names = "--rombar", paramLabel = "N", description = "PCI ROM BAR (0 hides the option ROM).")
  Integer rombar;

  @Option(names = "--failover-pair", paramLabel = "ID", description = "failover_pair_id: the virtio-net standby's id.")
  String failoverPair;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default) or json (every field).")
  ExecOutput.Format output;

  /** Only to refuse it clearly: an attach needs the sidecar. */
  @Option(names = "--qmp", paramLabel = "ADDRESS", hidden = true)
  String qmp;

  @Override
  public Integer call() {
    if (qmp != null) {
      throw usage("devices attach has no --qmp mode: attaching is the sidecar's job (it binds the host function"
          + " to vfio-pci and checks its IOMMU group, decides with those facts, picks a free root port, verifies,"
          + " rolls back on failure and keeps the record); QEMU alone does none of that. Attach through a running"
          + " sidecar (qmp-sidecar devices attach VM ...), or add an emulated device yourself: qmp-sidecar exec"
          + " --qmp " + qmp
          + " device_add driver=e1000e id=nic1 bus=rp1");
    }
    ObjectNode body = body();
    api.operationWait(spec.commandLine());
    return ApiClient.run(spec.commandLine(), api, client -> {
      JsonNode attachment = client.call(HttpMethod.POST, DevicesCommand.vmPath(vm) + "/devices", body).body();
      spec.commandLine().getOut().println(ExecOutput.render(output == ExecOutput.Format.json ? attachment
          : DevicesCommand.row(attachment), output));
      return ExitCodes.OK;
    });
  }

  private ObjectNode body() {
    if ((bdf != null ? 1 : 0) + (pf != null ? 1 : 0) + (mdev != null ? 1 : 0) > 1) {
      throw usage("give one of --bdf, --pf with --vf, or --mdev");
    }
    if (pf != null ^ vf != null) {
      throw usage("--pf and --vf go together: --pf 0000:03:00.0 --vf 2");
    }
    if (bdf == null && pf == null && mdev == null && (driver == null || id == null)) {
      throw usage("say what to attach: --bdf BDF, --pf BDF --vf N, --mdev UUID, or --driver DRIVER --id ID for an"
          + " emulated device");
    }
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    put(body, "bdf", bdf);
    put(body, "pf", pf);
    if (vf != null) {
      body.put("vf", vf);
    }
    put(body, "mdev", mdev);
    put(body, "driver", driver);
    put(body, "id", id);
    put(body, "hostDriver", hostDriver);
    put(body, "rootPort", rootPort);
    put(body, "opId", opId);
    ObjectNode options = JsonNodeFactory.instance.objectNode();
    if (enableMigration != null) {
      options.put("enableMigration", enableMigration);
    }
    if (migrationEvents != null) {
      options.put("migrationEvents", migrationEvents);
    }
    if (rombar != null) {
      options.put("rombar", rombar);
    }
    put(options, "failoverPairId", failoverPair);
    if (!options.isEmpty()) {
      body.set("options", options);
    }
    return body;
  }

  private CommandLine.ParameterException usage(String message) {
    return new CommandLine.ParameterException(spec.commandLine(), message);
  }

  private static void put(ObjectNode o, String field, String value) {
    if (value != null) {
      o.put(field, value);
    }
  }
}
