package io.qmpsidecar.sidecar.hotplug;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import java.util.List;
import java.util.Optional;

/** Decides whether an attach repeats an existing attachment, conflicts with one, or is new. */
final class Idempotency {
  private Idempotency() {}

  /**
   * @param host the host function's BDF or the mdev's {@code sysfsdev}; null for an emulated device
   * @return the existing attachment when the request repeats it; empty when the attach is new
   * @throws io.qmpsidecar.sidecar.failure.SidecarException {@code CONFLICT} when the id or host function is used differently
   */
  static Optional<Attachment> check(AttachRequest request, String id, String host, List<Attachment> stored) {
    for (Attachment a : stored) {
      boolean sameId = a.id().equals(id);
      boolean sameHost = host != null && host.equals(hostOf(a));
      if (!sameId && !sameHost) {
        continue;
      }
      if (a.state() == AttachmentState.ATTACHING) {
        throw HotplugFailures.conflict(request.vm(), "VM " + request.vm() + ": an earlier attach of " + a.id()
            + " did not finish; the sidecar reconciles it with QEMU when it reconnects: retry after reconcile.done");
      }
      if (a.state() == AttachmentState.DETACHING) {
        throw HotplugFailures.conflict(request.vm(), "VM " + request.vm() + ": device " + a.id()
            + " is being detached (waiting for the guest to release it); retry after"
            + " device.detached, or reset the VM to complete the removal");
      }
      if (sameId && sameHost == (host != null) && sameParameters(request, a)) {
        return Optional.of(a);
      }
      throw HotplugFailures.conflict(request.vm(), "VM " + request.vm() + ": "
          + (sameId ? "device id " + id : "host function " + host + " (as " + a.id() + ")")
          + " is already attached with other parameters (" + a.properties()
          + "); detach it first or attach with the same parameters");
    }
    return Optional.empty();
  }

  private static boolean sameParameters(AttachRequest request, Attachment a) {
    if (request.rootPort() != null && !request.rootPort().equals(a.rootPort())) {
      return false;
    }
    ObjectNode wanted = JsonNodeFactory.instance.objectNode().put("driver", request.driver())
        .put("id", a.id()).put("bus", a.rootPort());
    if (a.hostBdf() != null) {
      wanted.put("host", a.hostBdf());
    }
    // The sidecar's own means, not the caller's parameters: the path it passed the function by.
    for (String own : new String[] {"sysfsdev", "iommufd", "fd"}) {
      if (a.properties().has(own)) {
        wanted.set(own, a.properties().get(own));
      }
    }
    request.options().applyTo(wanted);
    return wanted.equals(a.properties());
  }

  /** The attachment's host function (BDF) or mdev ({@code sysfsdev}); null for an emulated device. */
  private static String hostOf(Attachment a) {
    return a.hostBdf() != null ? a.hostBdf() : a.properties().path("sysfsdev").textValue();
  }
}
