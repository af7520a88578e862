package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.http.HttpMethod;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * {@code qmp-sidecar devices detach VM ID}. A detach the guest has not acknowledged yet is
 * PENDING (the sidecar completes it later and publishes {@code device.detached}); with
 * {@code --wait} the command follows the event stream until that happens. With {@code --qmp}
 * it sends {@code device_del} itself and waits up to {@code --timeout} for QEMU's
 * {@code DEVICE_DELETED}.
 */
@Command(name = "detach", mixinStandardHelpOptions = true,
    description = {"Detach device ID from VM; a detach the guest has not acknowledged yet is PENDING.",
        "With --qmp: device_del, then up to --timeout for QEMU's DEVICE_DELETED (VM may be left out)."})
final class DevicesDetachCommand implements Callable<Integer> {
  /** The events that end a pending detach. */
  static final List<String> OUTCOMES = List.of("device.detached", "detach.rejected", "detach.pending-expired");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;
  @Mixin DirectQmp.Policy policy;

  @Parameters(index = "0", arity = "0..1", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "The VM's name (with --qmp optional: only a name for messages).")
  String vm;

  @Parameters(index = "1", arity = "0..1", paramLabel = "ID", description = "The device id (with --qmp also a QOM path).")
  String id;

  @Option(names = "--restore-host-driver", description = "Bind the host function back to the driver it had before the attach.")
  boolean restoreHostDriver;

  @Option(names = "--op-id", paramLabel = "ID", description = "Idempotency key: a repeat returns the first result.")
  String opId;

  @Option(names = "--wait", description = "When PENDING, wait (up to --timeout) until the device is gone;"
      + " with --qmp: exit 4 when it is not gone within --timeout.")
  boolean waitForCompletion;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "table",
      description = "table (default: one line) or json.")
  ExecOutput.Format output;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (qmp.given(cli)) {
      DirectQmp.sidecarOnly(cli, "it keeps the host driver and the operation ids", "--restore-host-driver", "--op-id");
      if (id == null) {
        id = DirectQmp.required(cli, vm, "ID");
        vm = null;
      }
      return qmp.run(cli, policy, api.timeoutSeconds, this::direct);
    }
    DirectQmp.required(cli, vm, "VM");
    DirectQmp.required(cli, id, "ID");
    api.operationWait(cli);
    return ApiClient.run(cli, api, client -> {
      // Subscribed before the DELETE, so the completion cannot slip between the two.
      EventsStream events = waitForCompletion
          ? EventsStream.open(client, List.of(vm), OUTCOMES, Map.of("id", id), -1) : null;
      ApiClient.Response r = client.call(HttpMethod.DELETE, uri(), null);
      String line = r.body().path("outcome").asText() + ": " + r.body().path("detail").asText();
      int exit;
      if (r.status() == 200 || r.status() == 202) {
        print(line, r.body());
        exit = r.status() == 200 ? ExitCodes.OK : events == null ? pending() : completion(events, client.timeout());
      } else {
        spec.commandLine().getErr().println(line);
        exit = ExitCodes.INVALID;
      }
      if (events != null) {
        events.close();
      }
      return exit;
    });
  }

  private String uri() {
    StringBuilder uri = new StringBuilder(DevicesCommand.vmPath(vm)).append("/devices/")
        .append(URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20"));
    uri.append("?restoreHostDriver=").append(restoreHostDriver);
    if (opId != null) {
      uri.append("&opId=").append(URLEncoder.encode(opId, StandardCharsets.UTF_8));
    }
    return uri.toString();
  }

  private int pending() {
    if (output == ExecOutput.Format.table) {
      spec.commandLine().getOut().println("completion follows as device.detached: qmp-sidecar events --follow --vm "
          + vm + " --type device.detached --data id=" + id + " --limit 1");
    }
    return ExitCodes.OK;
  }

  private int completion(EventsStream events, Duration timeout) {
    JsonNode e = events.next(timeout);
    if (e == null) {
      spec.commandLine().getErr().println(id + " is still attached to " + vm + " after " + timeout.toSeconds()
          + " s: the guest has not released it; check the guest (or reset the VM), or raise --timeout");
      return ExitCodes.UNREACHABLE;
    }
    String type = e.path("type").asText();
    print(switch (type) {
      case "device.detached" -> "DETACHED: " + id + " is gone (event " + e.path("id").asText() + ")";
      case "detach.rejected" -> "REJECTED: the guest refused the unplug; stop what uses the device in the guest and retry";
      default -> "EXPIRED: the sidecar stopped waiting for the guest; " + e.path("data").path("detail").asText(
          "check the guest, then detach again");
    }, e);
    return type.equals("device.detached") ? ExitCodes.OK : ExitCodes.INVALID;
  }

  /**
   * {@code device_del} and up to {@code --timeout} for {@code DEVICE_DELETED}: DETACHED, PENDING
   * (exit 0; with {@code --wait} exit 4), or NOT_FOUND when QEMU has no such device (exit 0, as
   * through the sidecar).
   */
  private int direct(DirectQmp session) {
    Duration wait = session.timeout();
    UnplugOutcome outcome;
    try {
      outcome = session.deviceDel(id, wait);
    } catch (SidecarException e) {
      if (!(e.getCause() instanceof QmpCommandException q && q.errorClass().equals("DeviceNotFound"))) {
        throw e;
      }
      print("NOT_FOUND", "QEMU has no device " + id);
      return ExitCodes.OK;
    }
    if (outcome == UnplugOutcome.DELETED) {
      print("DETACHED", id + " is gone (DEVICE_DELETED)");
      return ExitCodes.OK;
    }
    if (waitForCompletion) {
      spec.commandLine().getErr().println(id + " is still attached to " + session.who(vm) + " after " + wait.toSeconds()
          + " s: the guest has not released it; check the guest (or reset the VM), or raise --timeout");
      return ExitCodes.UNREACHABLE;
    }
    print("PENDING", "the guest has not released " + id + " within " + wait.toSeconds()
        + " s; QEMU removes it when the guest does and emits DEVICE_DELETED");
    if (output == ExecOutput.Format.table) {
      spec.commandLine().getOut().println("completion follows as DEVICE_DELETED: qmp-sidecar events --qmp "
          + session.address() + " --follow --type DEVICE_DELETED --data " + (id.startsWith("/") ? "path=" : "device=")
          + id + " --limit 1");
    }
    return ExitCodes.OK;
  }

  /** A direct outcome: {@code OUTCOME: detail}, or as JSON {@code {id, outcome, detail}}. */
  private void print(String outcome, String detail) {
    print(outcome + ": " + detail, JsonNodeFactory.instance.objectNode().put("id", id).put("outcome", outcome)
        .put("detail", detail));
  }

  private void print(String line, JsonNode json) {
    PrintWriter out = spec.commandLine().getOut();
    out.println(output == ExecOutput.Format.json ? json.toString() : line);
    out.flush();
  }
}
