package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * QMP passthrough on a libvirt VM, after the policy allowed it: off unless the VM's
 * configuration enables it, then only {@code query-*} commands, and only when the caller accepts
 * that libvirt marks the domain tainted ({@code custom-monitor}) at the first one
 * ({@code virDomainQemuMonitorCommand}). Nothing is sent before all three hold.
 */
public final class LibvirtPassthrough {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LibvirtPassthrough() {}

  /** @return QEMU's {@code return} value; fails with {@link SidecarException} */
  public static Future<JsonNode> run(LibvirtDomain domain, String command, ObjectNode arguments, boolean acceptTaint) {
    String vm = domain.vm();
    if (!domain.config().passthrough()) {
      return Future.failedFuture(SidecarException.of(Kind.CONFLICT, "libvirt-passthrough-off", "VM " + vm
          + " is managed by libvirt and QMP passthrough is off for it: any QMP command sent through libvirt taints"
          + " the domain (custom-monitor)").vm(vm)
          .fix("use the device and migration API; to allow query commands anyway set vms[].libvirt.passthrough: true")
          .build());
    }
    if (!command.startsWith("query-")) {
      return Future.failedFuture(SidecarException.of(Kind.CONFLICT, "libvirt-query-only", "VM " + vm
          + " is managed by libvirt: only query-* commands pass through, not " + command
          + " (a change behind libvirt's back makes its view of the domain wrong)").vm(vm)
          .fix("use the device and migration API, or libvirt's own tools").build());
    }
    if (!acceptTaint) {
      return Future.failedFuture(SidecarException.of(Kind.CONFLICT, "libvirt-taints", "running " + command
          + " on VM " + vm + " goes through virDomainQemuMonitorCommand, and libvirt then marks domain "
          + domain.config().domain() + " tainted (custom-monitor) for the rest of its life; nothing was sent").vm(vm)
          .fix("repeat with acceptTaint=true if that is acceptable").build());
    }
    ObjectNode request = JSON.createObjectNode().put("execute", command);
    if (arguments != null) {
      request.set("arguments", arguments);
    }
    return domain.qemuMonitorCommand(request.toString()).compose(reply -> {
      JsonNode node;
      try {
        node = JSON.readTree(reply);
      } catch (java.io.IOException e) {
        return Future.failedFuture(SidecarException.of(Kind.PROTOCOL, "qmp-protocol", "VM " + vm
            + ": libvirt passed back a reply that is not JSON: " + reply).vm(vm).build());
      }
      if (node.has("error")) {
        Map<String, Object> qemu = new LinkedHashMap<>();
        qemu.put("class", node.path("error").path("class").asText());
        qemu.put("desc", node.path("error").path("desc").asText());
        return Future.failedFuture(SidecarException.of(Kind.QEMU_ERROR, "qemu-error", "VM " + vm + ": QEMU refused "
            + command + ": " + qemu.get("class") + ": " + qemu.get("desc")).vm(vm).detail("qemu", qemu)
            .detail("command", command).build());
      }
      return Future.succeededFuture(node.path("return"));
    });
  }
}
