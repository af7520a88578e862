package io.qmpsidecar.sidecar.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.core.metrics.Info;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The sidecar's metrics, exposed at {@code /metrics} in Prometheus format. Names and labels are
 * listed in docs/operations.md; the sidecar's own all start with {@code qmp_sidecar_}.
 */
public final class SidecarMetrics implements AutoCloseable {
  /** The {@code command} label of names QEMU answered with {@code CommandNotFound}. */
  public static final String UNKNOWN_COMMAND = "(unknown)";

  /**
   * The latency buckets of {@code qmp_sidecar_qmp_command_seconds}: from a query answered at once
   * to a hotplug QEMU takes its time over. A fixed dozen per series, not a percentile histogram's 69.
   */
  static final Duration[] LATENCY_BUCKETS = {Duration.ofMillis(1).dividedBy(2), Duration.ofMillis(1),
      Duration.ofMillis(2).plusNanos(500_000), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(10)};

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  /** Meters of the per-request, per-command and per-event paths, found again without building an id each time. */
  private final Map<Labels, Timer> commandTimers = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> eventCounters = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> apiCounters = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> policyCounters = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> proxyDrops = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> automationCounters = new ConcurrentHashMap<>();
  private final Map<Labels, Counter> hookCounters = new ConcurrentHashMap<>();

  /** Listens to the JVM's GC notifications once bound; closed with this. */
  private JvmGcMetrics gc;
  private boolean closed;

  /** A meter's label values: the VM (or null), the name it counts, and an outcome (or null). */
  private record Labels(String vm, String name, String outcome) {}

  /** Registers {@code qmp_sidecar_build_info{version}}; the JVM's meters come with {@link #bindJvm}. */
  public SidecarMetrics() {
    String version = SidecarMetrics.class.getPackage().getImplementationVersion();
    // An info metric of the Prometheus client itself: Micrometer would strip a gauge's "_info".
    Info.builder().name("qmp_sidecar_build_info").help("1, labelled with the running version").labelNames("version")
        .register(registry.getPrometheusRegistry()).setLabelValues(version == null ? "dev" : version);
  }

  /**
   * Binds the JVM's and the process's meters (memory, GC, threads, CPU, uptime). Blocking: it
   * reads the management beans, the first time tens of milliseconds, so the daemon calls it off
   * its start path. Does nothing once closed.
   */
  public synchronized void bindJvm() {
    if (closed || gc != null) {
      return;
    }
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc = new JvmGcMetrics();
    gc.bindTo(registry);
  }

  /**
   * A QMP command's latency; {@code outcome} is {@code ok} or QEMU's error class, or the failure.
   * Names QEMU does not know count as {@value #UNKNOWN_COMMAND}: a caller allowed any name
   * cannot make a meter per spelling.
   */
  public void qmpCommand(String vm, String command, String outcome, Duration latency) {
    String name = "CommandNotFound".equals(outcome) ? UNKNOWN_COMMAND : command;
    commandTimers.computeIfAbsent(new Labels(vm, name, outcome), k -> Timer.builder("qmp_sidecar_qmp_command_seconds")
        .description("QMP command latency").tag("vm", vm).tag("command", name).tag("outcome", outcome)
        .serviceLevelObjectives(LATENCY_BUCKETS).register(registry)).record(latency);
  }

  public void qmpEvent(String vm, String event) {
    eventCounters.computeIfAbsent(new Labels(vm, event, null), k -> Counter.builder("qmp_sidecar_qmp_events_total")
        .description("QMP events received").tag("vm", vm).tag("event", event).register(registry)).increment();
  }

  public void apiRequest(String route, int status) {
    String code = Integer.toString(status);
    apiCounters.computeIfAbsent(new Labels(null, route, code), k -> Counter.builder("qmp_sidecar_api_requests_total")
        .description("HTTP API requests").tag("route", route).tag("status", code).register(registry)).increment();
  }

  public void policyDecision(String caller, boolean allowed) {
    String kind = caller.contains(":") ? caller.substring(0, caller.indexOf(':')) : caller;
    String effect = allowed ? "allow" : "deny";
    policyCounters.computeIfAbsent(new Labels(null, kind, effect), k -> Counter
        .builder("qmp_sidecar_policy_decisions_total").description("policy decisions").tag("caller", kind)
        .tag("effect", effect).register(registry)).increment();
  }

  /** An event dropped for a QMP proxy client of {@code vm} that did not read it, by caller. */
  public void proxyEventDropped(String vm, String caller) {
    proxyDrops.computeIfAbsent(new Labels(vm, caller, null), k -> Counter
        .builder("qmp_sidecar_proxy_events_dropped_total")
        .description("events dropped for QMP proxy clients that did not read them").tag("vm", vm)
        .tag("client", caller).register(registry)).increment();
  }

  /** An automation rule's action ended: {@code ran}, {@code denied}, {@code failed} or {@code dropped}. */
  public void automationAction(String outcome) {
    automationCounters.computeIfAbsent(new Labels(null, "rule", outcome), k -> Counter
        .builder("qmp_sidecar_automation_actions_total").description("automation rule actions, by outcome")
        .tag("outcome", outcome).register(registry)).increment();
  }

  /** A hook run ended: {@code ran}, {@code refused}, {@code failed} or {@code dropped}. */
  public void hookRun(String hook, String outcome) {
    hookCounters.computeIfAbsent(new Labels(null, hook, outcome), k -> Counter.builder("qmp_sidecar_hook_runs_total")
        .description("hook runs, by hook and outcome").tag("hook", hook).tag("outcome", outcome).register(registry))
        .increment();
  }

  /** A gauge read when scraped, e.g. in-flight commands of one VM. */
  public void gauge(String name, String description, String vm, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).tag("vm", vm).register(registry);
  }

  /** A gauge of the whole sidecar, read when scraped. */
  public void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value).description(description).register(registry);
  }

  public String scrape() {
    return registry.scrape();
  }

  /** Stops listening to GC notifications; the meters stay readable. */
  @Override
  public synchronized void close() {
    closed = true;
    if (gc != null) {
      gc.close();
    }
  }
}
