package io.qmpsidecar.sidecar.automation;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.GuardedOperation;
import io.qmpsidecar.sidecar.ops.OperationGuard;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code prepare} hooks, as the operations layer's {@link OperationGuard}: before an attach,
 * a detach or a migration, each hook configured for it (and its VM) runs in configuration order,
 * with the operation's JSON on stdin; the first that exits non-zero refuses the operation with
 * its stderr as the reason ({@code hook.refused}). A hook that cannot be started, is killed at its
 * timeout, or has no room in its queue refuses it too: a guard that cannot answer says no.
 */
final class PrepareHooks implements OperationGuard {
  /** Characters of a hook's stderr that a refusal's message carries. */
  static final int REASON_CHARS = 1000;

  private final List<HookExecutor> hooks;
  private final EventStream events;
  private final SidecarMetrics metrics;
  private final Path apiSocket;

  PrepareHooks(List<HookExecutor> hooks, EventStream events, SidecarMetrics metrics, Path apiSocket) {
    this.hooks = List.copyOf(hooks);
    this.events = events;
    this.metrics = metrics;
    this.apiSocket = apiSocket;
  }

  /** Closes the hooks' threads; an operation asking from now on is refused ({@code hook-busy}). */
  Future<Void> close() {
    return Future.join(hooks.stream().map(HookExecutor::close).toList()).mapEmpty();
  }

  @Override
  public Future<Void> prepare(GuardedOperation operation) {
    Future<Void> chain = Future.succeededFuture();
    for (HookExecutor executor : hooks) {
      SidecarConfig.Hook hook = executor.hook();
      if (hook.prepare().contains(operation.kind().id())
          && (hook.vms().isEmpty() || hook.vms().contains(operation.vm()))) {
        chain = chain.compose(v -> ask(executor, operation));
      }
    }
    return chain;
  }

  private Future<Void> ask(HookExecutor executor, GuardedOperation op) {
    SidecarConfig.Hook hook = executor.hook();
    ObjectNode json = JsonNodeFactory.instance.objectNode().put("operation", op.kind().id()).put("vm", op.vm())
        .put("caller", op.caller().id());
    if (op.opId() != null) {
      json.put("opId", op.opId());
    }
    json.set("request", op.request());
    Map<String, String> specific = new LinkedHashMap<>();
    specific.put("QMP_SIDECAR_VM", op.vm());
    specific.put("QMP_SIDECAR_OPERATION", op.kind().id());
    specific.put("QMP_SIDECAR_CALLER", op.caller().id());
    specific.put("QMP_SIDECAR_OP_ID", op.opId());
    String what = op.kind().id() + " " + op.request().path(switch (op.kind()) {
      case MIGRATE -> "destination";
      case LIVE_UPDATE -> "qemu";
      default -> "id";
    }).asText("") + " (" + op.caller().id() + ")";
    return executor.submit(HookRuns.environment(hook, apiSocket, specific),
        (json + "\n").getBytes(StandardCharsets.UTF_8)).recover(e -> {
          metrics.hookRun(hook.name(), "dropped");
          return Future.failedFuture(SidecarException.of(Kind.BUSY, "hook-busy", "the prepare hook " + hook.name()
              + " could not be asked about " + describe(op) + ": " + e.getMessage()).vm(op.vm())
              .detail("hook", hook.name()).build());
        }).compose(r -> {
          HookRuns.log(hook, op.vm(), "prepare " + what, r);
          ObjectNode data = HookRuns.report(hook, r).put("operation", op.kind().id()).put("caller", op.caller().id());
          data.set("request", op.request());
          if (r.succeeded()) {
            metrics.hookRun(hook.name(), "ran");
            events.publish(op.vm(), AutomationEvents.HOOK_RAN, op.opId(), data);
            return Future.succeededFuture();
          }
          boolean refused = r.startFailure() == null && !r.timedOut();
          metrics.hookRun(hook.name(), refused ? "refused" : "failed");
          events.publish(op.vm(), refused ? AutomationEvents.HOOK_REFUSED : AutomationEvents.HOOK_FAILED, op.opId(), data);
          return Future.failedFuture(refusal(hook, op, r, refused));
        });
  }

  private static SidecarException refusal(SidecarConfig.Hook hook, GuardedOperation op, HookProcess.Result r,
      boolean refused) {
    String stderr = r.stderr().strip();
    if (stderr.length() > REASON_CHARS) {
      stderr = stderr.substring(0, REASON_CHARS) + "...";
    }
    String reason = refused ? (stderr.isEmpty() ? "it exited with status " + r.exit() + " and wrote nothing on stderr"
        : stderr) : "it " + r.failure(hook.timeout()) + ", so the operation is refused";
    return SidecarException.of(Kind.DENIED, "hook-refused", "the prepare hook " + hook.name() + " refused "
            + describe(op) + ": " + reason)
        .vm(op.vm())
        .fix(refused ? "the hook's message says why; change what it checks, or the hooks configuration"
            : "fix the hook (" + hook.run().get(0) + ") or its timeout in the hooks configuration")
        .detail("hook", hook.name()).detail("reason", reason).detail("exit", r.exit() >= 0 ? r.exit() : null)
        .build();
  }

  private static String describe(GuardedOperation op) {
    return switch (op.kind()) {
      case ATTACH -> "the attach of " + op.request().path("id").asText(op.request().path("bdf").asText("a device"))
          + " to VM " + op.vm();
      case DETACH -> "the detach of " + op.request().path("id").asText() + " from VM " + op.vm();
      case MIGRATE -> "the migration of VM " + op.vm() + " to " + op.request().path("destination").asText();
      case LIVE_UPDATE -> "the live update of VM " + op.vm() + " to " + op.request().path("qemu")
          .asText("its QEMU's own path");
    };
  }
}
