package io.qmpsidecar.sidecar.automation;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hooks that run on events: each event of the stream (automation's own reports excepted) that
 * a hook's {@code events} and {@code vms} match runs its program with the event's JSON on stdin.
 * Every run ends in a report ({@code hook.ran} or {@code hook.failed}); a run its queue has no
 * room for is dropped and reported ({@code hook.dropped}).
 */
final class EventHooks {
  /** Events that may wait to be offered to the hooks before some are dropped (and reported). */
  static final int EVENT_QUEUE = 1024;

  private final List<HookExecutor> hooks;
  private final EventStream events;
  private final SidecarMetrics metrics;
  private final Path apiSocket;
  private final DropReports drops;
  private final AtomicLong droppedBySubscription = new AtomicLong();
  private long reportedBySubscription;
  private EventSubscription subscription;

  EventHooks(Vertx vertx, List<HookExecutor> hooks, EventStream events, SidecarMetrics metrics, Path apiSocket) {
    this.hooks = List.copyOf(hooks);
    this.events = events;
    this.metrics = metrics;
    this.apiSocket = apiSocket;
    this.drops = new DropReports(vertx, events, AutomationEvents.HOOK_DROPPED);
  }

  /** Starts following the stream (nothing to do without hooks). */
  void start() {
    if (hooks.isEmpty()) {
      return;
    }
    subscription = events.subscribe(
        e -> !AutomationEvents.isReport(e.type()) && hooks.stream().anyMatch(h -> matches(h.hook(), e)),
        EVENT_QUEUE, new EventListener() {
          @Override
          public void onEvent(SidecarEvent event) {
            offer(event);
          }

          @Override
          public void onDropped(long count) {
            droppedBySubscription.set(count);
          }
        });
  }

  Future<Void> close() {
    if (subscription != null) {
      subscription.cancel();
    }
    return Future.join(hooks.stream().map(HookExecutor::close).toList()).mapEmpty();
  }

  static boolean matches(SidecarConfig.Hook hook, SidecarEvent e) {
    return (hook.vms().isEmpty() || hook.vms().contains(e.vm())) && hook.events().stream().anyMatch(p -> p.equals("*")
        || (p.endsWith("*") ? e.type().startsWith(p.substring(0, p.length() - 1)) : p.equals(e.type())));
  }

  private void offer(SidecarEvent e) {
    long dropped = droppedBySubscription.get();
    if (dropped > reportedBySubscription) {
      long missed = dropped - reportedBySubscription;
      reportedBySubscription = dropped;
      metrics.hookRun("*", "dropped");
      drops.dropped(e.vm(), "*", "lagging", missed, JsonNodeFactory.instance.objectNode().put("hook", "*")
          .put("reason", "the hooks fell " + EVENT_QUEUE + " events behind the stream: events were not offered to them"));
    }
    byte[] input = (e.toJson() + "\n").getBytes(StandardCharsets.UTF_8);
    Map<String, String> specific = new LinkedHashMap<>();
    specific.put("QMP_SIDECAR_VM", e.vm());
    specific.put("QMP_SIDECAR_EVENT", e.type());
    specific.put("QMP_SIDECAR_EVENT_ID", Long.toString(e.id()));
    specific.put("QMP_SIDECAR_OP_ID", e.opId());
    for (HookExecutor executor : hooks) {
      SidecarConfig.Hook hook = executor.hook();
      if (!matches(hook, e)) {
        continue;
      }
      Map<String, String> env = HookRuns.environment(hook, apiSocket, specific);
      executor.submit(env, input).onComplete(ar -> {
        if (ar.failed()) {
          metrics.hookRun(hook.name(), "dropped");
          SidecarException busy = SidecarException.from(ar.cause());
          drops.dropped(e.vm(), hook.name(), busy.code(), 1, about(hook, e).put("reason", busy.getMessage()));
          return;
        }
        HookProcess.Result r = ar.result();
        HookRuns.log(hook, e.vm(), "event " + e.id() + " (" + e.type() + ")", r);
        metrics.hookRun(hook.name(), r.succeeded() ? "ran" : "failed");
        ObjectNode data = HookRuns.report(hook, r).put("event", e.id()).put("eventType", e.type());
        events.publish(e.vm(), r.succeeded() ? AutomationEvents.HOOK_RAN : AutomationEvents.HOOK_FAILED, e.opId(), data);
      });
    }
  }

  private static ObjectNode about(SidecarConfig.Hook hook, SidecarEvent e) {
    return JsonNodeFactory.instance.objectNode().put("hook", hook.name()).put("event", e.id()).put("eventType", e.type());
  }
}
