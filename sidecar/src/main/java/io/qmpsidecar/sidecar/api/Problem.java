package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpException;
import io.qmpsidecar.qmp.QmpQueueFullException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.sidecar.daemon.VmNotFoundException;
import io.qmpsidecar.sidecar.hostprep.HostPrepException;
import io.qmpsidecar.sidecar.migration.MigrationBlockedException;
import io.qmpsidecar.sidecar.migration.MigrationException;
import io.qmpsidecar.sidecar.migration.MigrationRefusedException;
import io.qmpsidecar.sidecar.ops.AttachConflictException;
import io.qmpsidecar.sidecar.ops.MigrationActiveException;
import io.qmpsidecar.sidecar.ops.NoFreeSlotException;
import io.qmpsidecar.sidecar.ops.OperationException;
import io.qmpsidecar.sidecar.ops.PolicyDeniedException;
import io.qmpsidecar.sidecar.ops.QemuErrorException;
import io.qmpsidecar.sidecar.ops.UnknownVmException;
import io.qmpsidecar.sidecar.ops.VmBusyException;
import io.qmpsidecar.sidecar.daemon.VmUnavailableException;
import io.vertx.ext.web.RoutingContext;

/**
 * An RFC 9457 problem ({@code application/problem+json}): {@code type}, {@code title},
 * {@code status}, {@code detail}, plus {@code qemu} ({@code class}, {@code desc}) when QEMU said
 * it and {@code rule} when a policy decided it.
 */
record Problem(int status, String type, String title, String detail, ObjectNode extensions) {
  static final String BASE = "urn:qmp-sidecar:problem:";

  static Problem of(int status, String type, String title, String detail) {
    return new Problem(status, BASE + type, title, detail, JsonNodeFactory.instance.objectNode());
  }

  static Problem denied(Decision decision) {
    Problem p = of(403, "policy-denied", "Denied by policy", "denied by rule " + decision.ruleId()
        + ": " + decision.reason());
    p.extensions().put("rule", decision.ruleId());
    return p;
  }

  /** Maps a failure to its problem; anything unexpected is a 500 that keeps the message. */
  static Problem from(Throwable e) {
    if (e instanceof ApiException a) {
      return a.problem();
    }
    if (e instanceof OperationException op) {
      Problem p = operation(op);
      if (!op.rolledBack().isEmpty()) {
        op.rolledBack().forEach(p.extensions().putArray("rolledBack")::add);
      }
      return p;
    }
    if (e instanceof MigrationBlockedException b) {
      Problem p = of(409, "migration-blocked", "QEMU blocks the migration", e.getMessage());
      b.reasons().forEach(p.extensions().putArray("reasons")::add);
      return p;
    }
    if (e instanceof MigrationRefusedException) {
      return of(409, "migration-refused", "The migration was refused", e.getMessage());
    }
    if (e instanceof MigrationException) {
      return of(500, "migration-failed", "The migration failed", e.getMessage());
    }
    if (e instanceof VmNotFoundException) {
      return of(404, "vm-not-found", "No such VM", e.getMessage());
    }
    if (e instanceof VmUnavailableException) {
      return of(503, "vm-unavailable", "VM not connected", e.getMessage());
    }
    if (e instanceof QmpCommandException q) {
      Problem p = of(422, "qemu-error", "QEMU refused the command", q.getMessage());
      p.extensions().putObject("qemu").put("class", q.errorClass()).put("desc", q.description());
      return p;
    }
    if (e instanceof QmpTimeoutException) {
      return of(504, "qemu-timeout", "QEMU did not answer in time", e.getMessage());
    }
    if (e instanceof QmpQueueFullException) {
      return of(429, "qemu-busy", "Too many commands wait for QEMU", e.getMessage());
    }
    if (e instanceof QmpConnectionException) {
      return of(503, "qemu-unavailable", "QEMU connection lost", e.getMessage());
    }
    if (e instanceof QmpException) {
      return of(502, "qmp-protocol", "QMP protocol error", e.getMessage());
    }
    return of(500, "internal", "Internal error", String.valueOf(e.getMessage()));
  }

  private static Problem operation(OperationException e) {
    if (e instanceof PolicyDeniedException d) {
      Problem p = of(403, "policy-denied", "Denied by policy", e.getMessage());
      p.extensions().put("rule", d.decision().ruleId());
      return p;
    }
    if (e instanceof QemuErrorException q) {
      Problem p = of(422, "qemu-error", "QEMU refused the command", e.getMessage());
      p.extensions().putObject("qemu").put("class", q.errorClass()).put("desc", q.description());
      return p;
    }
    if (e instanceof HostPrepException h) {
      Problem p = of(412, "host-prerequisite", "The host function is not ready", e.getMessage());
      p.extensions().put("bdf", h.bdf()).put("fix", h.fix());
      return p;
    }
    if (e instanceof UnknownVmException) {
      return of(404, "vm-not-found", "No such VM", e.getMessage());
    }
    if (e instanceof VmBusyException) {
      return of(429, "vm-busy", "Too many operations wait for this VM", e.getMessage());
    }
    if (e instanceof MigrationActiveException) {
      return of(409, "migration-active", "The VM is migrating", e.getMessage());
    }
    if (e instanceof NoFreeSlotException || e instanceof AttachConflictException) {
      return of(409, "conflict", "The attach conflicts with the VM's state", e.getMessage());
    }
    return of(500, "operation-failed", "The operation failed", e.getMessage());
  }

  void send(RoutingContext ctx) {
    ObjectNode body = extensions.deepCopy();
    body.put("type", type).put("title", title).put("status", status).put("detail", detail)
        .put("instance", ctx.request().path());
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("content-type", "application/problem+json")
          .end(body.toString());
    }
  }
}
