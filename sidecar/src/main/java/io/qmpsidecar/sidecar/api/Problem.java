package io.qmpsidecar.sidecar.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;
import java.util.Map;

/**
 * An RFC 9457 problem ({@code application/problem+json}): {@code type}, {@code title},
 * {@code status}, {@code detail}, {@code instance}, plus for a failure of the sidecar its
 * {@code kind}, the {@code fix} when known, {@code rolledBack} steps, and the failure's details
 * (e.g. {@code qemu} with QEMU's {@code class} and {@code desc}, {@code rule} when a policy
 * decided, {@code bdf} for a host function).
 */
record Problem(int status, String type, String title, String detail, ObjectNode extensions) {
  static final String BASE = "urn:qmp-sidecar:problem:";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Titles of the situations people meet most, more telling than their kind's. */
  private static final Map<String, String> TITLES = Map.ofEntries(
      Map.entry("vm-not-found", "No such VM"),
      Map.entry("vm-unavailable", "VM not connected"),
      Map.entry("vm-busy", "Too many operations wait for this VM"),
      Map.entry("no-migration", "No migration"),
      Map.entry("migration-refused", "The migration was refused"),
      Map.entry("migration-failed", "The migration failed"),
      Map.entry("migration-active", "The VM is migrating"),
      Map.entry("schema-violation", "The command does not fit QEMU's schema"),
      Map.entry("qemu-timeout", "QEMU did not answer in time"),
      Map.entry("qemu-busy", "Too many commands wait for QEMU"),
      Map.entry("qemu-unavailable", "QEMU connection lost"),
      Map.entry("hook-refused", "Refused by a prepare hook"),
      Map.entry("hook-busy", "The prepare hook has too much queued"));

  static Problem of(int status, String type, String title, String detail) {
    return new Problem(status, BASE + type, title, detail, JsonNodeFactory.instance.objectNode());
  }

  /** A failure's problem: the HTTP status and title of its kind, one switch (docs/operations.md has the table). */
  static Problem from(Throwable failure) {
    SidecarException e = SidecarException.from(failure);
    int status = switch (e.kind()) {
      case INVALID -> 400;
      case DENIED -> 403;
      case NOT_FOUND -> 404;
      case CONFLICT, MIGRATING, MIGRATION_BLOCKED -> 409;
      case HOST_PREREQUISITE -> 412;
      case QEMU_ERROR -> 422;
      case THROTTLED, BUSY -> 429;
      case CONFIGURATION, FAILED, INTERNAL -> 500;
      case PROTOCOL -> 502;
      case UNAVAILABLE -> 503;
      case GUEST_TIMEOUT, TIMEOUT -> 504;
    };
    String title = switch (e.kind()) {
      case INVALID -> "Bad request";
      case CONFIGURATION -> "Invalid configuration";
      case DENIED -> "Denied by policy";
      case THROTTLED -> "Rate limit reached";
      case NOT_FOUND -> "Not found";
      case CONFLICT -> "Conflicts with the current state";
      case MIGRATING -> "The VM is migrating";
      case MIGRATION_BLOCKED -> "QEMU blocks the migration";
      case BUSY -> "Too much is queued";
      case HOST_PREREQUISITE -> "The host function is not ready";
      case QEMU_ERROR -> "QEMU refused the command";
      case GUEST_TIMEOUT -> "The guest did not release the device";
      case UNAVAILABLE -> "Not available now";
      case TIMEOUT -> "No answer in time";
      case PROTOCOL -> "QMP protocol error";
      case FAILED -> "The operation failed";
      case INTERNAL -> "Internal error";
    };
    Problem p = of(status, e.code(), TITLES.getOrDefault(e.code(), title), e.getMessage());
    ObjectNode x = p.extensions();
    x.put("kind", e.kind().name().toLowerCase(Locale.ROOT).replace('_', '-'));
    e.details().forEach((k, v) -> x.set(k, JSON.valueToTree(v)));
    if (e.fix() != null) {
      x.put("fix", e.fix());
    }
    if (!e.rolledBack().isEmpty()) {
      e.rolledBack().forEach(x.putArray("rolledBack")::add);
    }
    return p;
  }

  void send(RoutingContext ctx) {
    ObjectNode body = extensions.objectNode().put("type", type).put("title", title).put("status", status)
        .put("detail", detail).put("instance", ctx.request().path());
    extensions.fields().forEachRemaining(f -> {
      if (!body.has(f.getKey())) {
        body.set(f.getKey(), f.getValue().deepCopy());
      }
    });
    if (!ctx.response().ended()) {
      if (extensions.path("retryAfterMs").canConvertToLong()) {
        // HTTP counts whole seconds: round up, so that a retry at that time finds a token.
        ctx.response().putHeader("Retry-After", String.valueOf((extensions.get("retryAfterMs").asLong() + 999) / 1000));
      }
      ctx.response().setStatusCode(status).putHeader("content-type", "application/problem+json")
          .end(body.toString());
    }
  }
}
