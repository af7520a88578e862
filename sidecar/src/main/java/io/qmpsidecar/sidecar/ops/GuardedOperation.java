package io.qmpsidecar.sidecar.ops;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.sidecar.hotplug.AttachRequest;
import io.qmpsidecar.sidecar.hotplug.DetachRequest;
import java.util.Locale;
import java.util.Objects;

/**
 * An operation the policy allowed, as an {@link OperationGuard} sees it before it runs.
 *
 * @param kind what it is
 * @param vm the VM it changes (the source VM of a migration)
 * @param caller who asked
 * @param opId the operation's id, carried by its events and log lines
 * @param request what was asked, as JSON (members per kind: docs/automation.md); callers must not
 *     modify it
 */
public record GuardedOperation(Kind kind, String vm, Caller caller, String opId, ObjectNode request) {
  /** The operations a guard is asked about. */
  public enum Kind {
    ATTACH, DETACH, MIGRATE, LIVE_UPDATE;

    /**
     * The name in configuration and JSON: {@code attach}, {@code detach}, {@code migrate},
     * {@code live-update}.
     */
    public String id() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  public GuardedOperation {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(vm, "vm");
    Objects.requireNonNull(caller, "caller");
    Objects.requireNonNull(request, "request");
  }

  static GuardedOperation attach(Caller caller, AttachRequest r) {
    ObjectNode request = JsonNodeFactory.instance.objectNode().put("driver", r.driver());
    putIfSet(request, "id", r.id());
    if (r.function() != null && r.function().bdf() != null) {
      request.put("bdf", r.function().bdf().value());
    } else if (r.function() != null && r.function().mdev() != null) {
      request.put("mdev", r.function().mdev());
    } else if (r.function() != null) {
      request.put("pf", r.function().pf().value()).put("vf", r.function().vfIndex());
    }
    putIfSet(request, "hostDriver", r.hostDriver());
    putIfSet(request, "rootPort", r.rootPort());
    return new GuardedOperation(Kind.ATTACH, r.vm(), caller, r.opId(), request);
  }

  static GuardedOperation detach(Caller caller, DetachRequest r) {
    ObjectNode request = JsonNodeFactory.instance.objectNode().put("id", r.id())
        .put("restoreHostDriver", r.restoreHostDriver());
    return new GuardedOperation(Kind.DETACH, r.vm(), caller, r.opId(), request);
  }

  static GuardedOperation migrate(Caller caller, String vm, String destination, String uri, String strategy,
      String opId) {
    ObjectNode request = JsonNodeFactory.instance.objectNode().put("destination", destination).put("uri", uri)
        .put("strategy", strategy);
    return new GuardedOperation(Kind.MIGRATE, vm, caller, opId, request);
  }

  /** @param qemu the new binary, or null for the running QEMU's own path */
  static GuardedOperation liveUpdate(Caller caller, String vm, String qemu, String opId) {
    ObjectNode request = JsonNodeFactory.instance.objectNode();
    putIfSet(request, "qemu", qemu);
    return new GuardedOperation(Kind.LIVE_UPDATE, vm, caller, opId, request);
  }

  private static void putIfSet(ObjectNode node, String name, String value) {
    if (value != null) {
      node.put(name, value);
    }
  }
}
