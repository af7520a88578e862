package io.qmpsidecar.sidecar.automation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.AutomationAction;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.events.EventSubscription;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.metrics.SidecarMetrics;
import io.qmpsidecar.sidecar.ops.OperationTrace;
import io.qmpsidecar.sidecar.ops.Operations;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs the policy's automation rules. Every event of the stream (QEMU's, under QEMU's own name,
 * and the sidecar's, under its type), except automation's own reports, is offered to the policy
 * engine in force at that moment ({@link PolicyEngine#onEvent}, which applies the cooldowns); each
 * action it returns is run through the operations layer as caller {@code rule:<id>}, which
 * decides it once (audited, rate-limited, counted) and runs it on the event's VM. Actions of one
 * VM run one at a time, in order, with at most {@link #QUEUE_PER_VM} waiting; at most
 * {@code maxPerSecond} are accepted per second across all rules and VMs. Whatever is cut is
 * reported ({@code automation.dropped}), and every action's end is an event
 * ({@code automation.ran}, {@code automation.denied}, {@code automation.failed}) and a line of the
 * audit log; its decision, that line and that event carry one operation id ({@code rule-…}).
 *
 * <p>The rules' work never runs on the publisher's path: events wait in this runner's bounded
 * subscription queue and are matched in a later task on its own context, where all its state
 * lives; the actions themselves are asynchronous.
 */
public final class RuleRunner {
  private static final Logger AUDIT = LoggerFactory.getLogger("io.qmpsidecar.audit");
  /** Events that may wait to be offered to the rules before some are dropped (and reported). */
  static final int EVENT_QUEUE = 1024;
  /** Actions of one VM that may wait behind the running one. */
  static final int QUEUE_PER_VM = 16;
  /** Event types whose rule names are kept. */
  private static final int NAMES_KEPT = 1024;
  private static final Map<String, String> NAMES = new ConcurrentHashMap<>();

  private final Context context;
  private final PolicyEngine engine;
  private final Operations operations;
  private final EventStream events;
  private final SidecarMetrics metrics;
  private final int maxPerSecond;
  private final DropReports drops;
  /** Per VM: the actions waiting behind the running one; a VM is present while one runs. */
  private final Map<String, ArrayDeque<Pending>> vms = new HashMap<>();
  /** When the second of the global bound began: at the first action it accepted. */
  private long windowStart;
  private int acceptedInWindow;
  private long droppedBySubscription;
  private long reportedBySubscription;
  private EventSubscription subscription;

  /** An action to run, with the operation id its decision, its outcome and its event carry. */
  private record Pending(AutomationAction action, SidecarEvent event, String opId) {}

  private RuleRunner(Context context, PolicyEngine engine, Operations operations, EventStream events,
      SidecarMetrics metrics, int maxPerSecond) {
    this.context = context;
    this.engine = engine;
    this.operations = operations;
    this.events = events;
    this.metrics = metrics;
    this.maxPerSecond = maxPerSecond;
    this.drops = new DropReports(context.owner(), events, AutomationEvents.DROPPED);
  }

  /**
   * Starts offering events to the rules of {@code engine}'s policy, whichever is in force when
   * each event arrives (a reload takes effect for the next event).
   *
   * @param maxPerSecond actions accepted per second, all rules and VMs together (at least 1)
   * @return the runner once it is subscribed
   */
  public static Future<RuleRunner> start(Vertx vertx, PolicyEngine engine, Operations operations, EventStream events,
      SidecarMetrics metrics, int maxPerSecond) {
    if (maxPerSecond < 1) {
      throw new IllegalArgumentException("maxPerSecond must be >= 1, got " + maxPerSecond);
    }
    Context context = vertx.getOrCreateContext();
    RuleRunner runner = new RuleRunner(context, engine, operations, events, metrics, maxPerSecond);
    Promise<RuleRunner> started = Promise.promise();
    context.runOnContext(v -> {
      // Only the events some rule in force names are queued: without rules, none (a reload
      // that adds rules takes effect for the next event, as the filter asks the engine each time).
      runner.subscription = events.subscribe(e -> !AutomationEvents.isReport(e.type()) && engine.watches(name(e)),
          EVENT_QUEUE,
          new EventListener() {
            @Override
            public void onEvent(SidecarEvent event) {
              runner.offer(event);
            }

            @Override
            public void onDropped(long count) {
              runner.droppedBySubscription = count;
            }
          });
      started.complete(runner);
    });
    return started.future();
  }

  /** Stops offering events; actions already running end on their own. */
  public void close() {
    context.runOnContext(v -> subscription.cancel());
  }

  private void offer(SidecarEvent event) {
    if (droppedBySubscription > reportedBySubscription) {
      long missed = droppedBySubscription - reportedBySubscription;
      reportedBySubscription = droppedBySubscription;
      drop(event.vm(), "*", "the rules fell " + EVENT_QUEUE + " events behind the stream: events were not offered"
          + " to them", missed, JsonNodeFactory.instance.objectNode());
    }
    List<AutomationAction> actions = engine.onEvent(event.vm(), name(event), event.data());
    for (AutomationAction action : actions) {
      accept(new Pending(action, event, OperationTrace.newOpId("rule")));
    }
  }

  /**
   * The name rules know an event by: QEMU's own for QEMU's events, the type for the sidecar's.
   * Made once per type (a bounded few are kept), not once per event: every event is asked.
   */
  private static String name(SidecarEvent e) {
    String type = e.type();
    String name = NAMES.get(type);
    if (name == null) {
      name = type.startsWith("qmp.") ? type.substring("qmp.".length()) : type;
      if (NAMES.size() < NAMES_KEPT) {
        NAMES.putIfAbsent(type, name);
      }
    }
    return name;
  }

  private void accept(Pending p) {
    String vm = p.event().vm();
    long now = System.nanoTime();
    if (acceptedInWindow == 0 || now - windowStart >= 1_000_000_000L) {
      windowStart = now;
      acceptedInWindow = 0;
    }
    if (acceptedInWindow >= maxPerSecond) {
      drop(vm, p.action().ruleId(), "the global bound of " + maxPerSecond + " rule actions per second"
          + " (automation.maxPerSecond) was reached", 1, describe(p));
      return;
    }
    ArrayDeque<Pending> waiting = vms.get(vm);
    if (waiting != null && waiting.size() >= QUEUE_PER_VM) {
      drop(vm, p.action().ruleId(), "VM " + vm + " already has " + QUEUE_PER_VM + " rule actions waiting", 1,
          describe(p));
      return;
    }
    acceptedInWindow++;
    if (waiting != null) {
      waiting.addLast(p);
      return;
    }
    vms.put(vm, new ArrayDeque<>());
    run(p);
  }

  private void run(Pending p) {
    long start = System.nanoTime();
    operations.command(p.event().vm(), p.opId(), p.action().request())
        .onComplete(ar -> context.runOnContext(v -> finished(p, ar, (System.nanoTime() - start) / 1_000_000)));
  }

  private void finished(Pending p, AsyncResult<JsonNode> ar, long ms) {
    String vm = p.event().vm();
    ObjectNode data = describe(p).put("ms", ms);
    String type;
    String outcome;
    if (ar.succeeded()) {
      type = AutomationEvents.RAN;
      outcome = "ran";
      data.set("result", ar.result());
    } else {
      SidecarException e = SidecarException.from(ar.cause());
      boolean denied = e.kind() == Kind.DENIED || e.kind() == Kind.THROTTLED;
      type = denied ? AutomationEvents.DENIED : AutomationEvents.FAILED;
      outcome = denied ? "denied" : "failed";
      data.put("kind", e.kind().name().toLowerCase(Locale.ROOT).replace('_', '-')).put("code", e.code())
          .put("error", e.getMessage());
      if (e.detail("rule") != null) {
        data.put("decidedBy", e.detail("rule").toString()).put("reason", String.valueOf(e.detail("reason")));
      }
    }
    metrics.automationAction(outcome);
    audit(p, outcome, data);
    events.publish(vm, type, p.opId(), data);
    ArrayDeque<Pending> waiting = vms.get(vm);
    Pending next = waiting.pollFirst();
    if (next == null) {
      vms.remove(vm);
    } else {
      run(next);
    }
  }

  private void drop(String vm, String rule, String reason, long count, ObjectNode data) {
    metrics.automationAction("dropped");
    drops.dropped(vm, rule, reason, count, data.put("reason", reason));
  }

  /** What every report of an action says: which rule ran what, on which event. */
  private static ObjectNode describe(Pending p) {
    ObjectNode data = JsonNodeFactory.instance.objectNode().put("rule", p.action().ruleId())
        .put("caller", p.action().request().caller().id()).put("command", p.action().request().command());
    data.set("arguments", p.action().arguments());
    return data.put("event", p.event().id()).put("eventType", p.event().type());
  }

  private static void audit(Pending p, String outcome, ObjectNode data) {
    try {
      MDC.put("vm", p.event().vm());
      MDC.put("op", p.opId());
      MDC.put("caller", p.action().request().caller().id());
      String result = outcome.equals("ran") ? "ran" : outcome + ": " + data.path("error").asText();
      AUDIT.atInfo().addKeyValue("caller", p.action().request().caller().id())
          .addKeyValue("command", p.action().request().command()).addKeyValue("rule", p.action().ruleId())
          .addKeyValue("vm", p.event().vm()).addKeyValue("opId", p.opId()).addKeyValue("event", p.event().id())
          .addKeyValue("eventType", p.event().type()).addKeyValue("outcome", outcome)
          .log("automation {} {} on VM {} for event {} ({}): {}", p.action().request().caller().id(),
              p.action().request().command(), p.event().vm(), p.event().id(), p.event().type(), result);
    } finally {
      MDC.clear();
    }
  }
}
