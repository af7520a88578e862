package io.qmpsidecar.sidecar.vm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.DomainRef;
import io.qmpsidecar.libvirt.DomainState;
import io.qmpsidecar.libvirt.DomainXml;
import io.qmpsidecar.libvirt.JobInfo;
import io.qmpsidecar.libvirt.LibvirtClient;
import io.qmpsidecar.libvirt.LibvirtErrorException;
import io.qmpsidecar.libvirt.LibvirtEvent;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.sidecar.config.SidecarConfig;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM managed by libvirt, reached through libvirt's APIs only (never QEMU's monitor): its
 * client (shared per URI), its domain once found, and its events on the event stream.
 *
 * <p>Events are published as for a QMP VM: libvirt's typed lifecycle and device-removed events
 * as {@code qmp.STOP}, {@code qmp.RESUME}, {@code qmp.SHUTDOWN} and {@code qmp.DEVICE_DELETED}
 * (with {@code "source": "libvirt"}), every other QEMU event as {@code qmp.NAME} from libvirt's
 * read-only QMP event registration, and libvirt's own as {@code libvirt.lifecycle},
 * {@code libvirt.device-removed}, {@code libvirt.device-removal-failed},
 * {@code libvirt.job-completed}, {@code libvirt.migration-iteration} and
 * {@code libvirt.reconnected}. Flows subscribe to the typed events with {@link #subscribe}.
 * All calls return Vert.x futures completing on the registry's context.
 */
public final class LibvirtDomain {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtDomain.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** How often a domain that is not there yet is looked up again. */
  static final Duration LOOKUP_INTERVAL = Duration.ofSeconds(2);
  /** QEMU events that reach the stream from libvirt's typed events instead (else they would come twice). */
  private static final Set<String> TYPED = Set.of("STOP", "RESUME", "SHUTDOWN", "DEVICE_DELETED");

  private final String vm;
  private final SidecarConfig.Libvirt config;
  private final Vertx vertx;
  private final Context context;
  private final LibvirtHosts hosts;
  private final EventStream events;
  private final List<Consumer<LibvirtEvent.OfDomain>> subscribers = new CopyOnWriteArrayList<>();
  private final List<Runnable> reconnectListeners = new CopyOnWriteArrayList<>();
  private final Consumer<LibvirtEvent> listener = this::onLibvirtEvent;
  private volatile LibvirtClient client;
  private volatile DomainRef domain;
  private volatile String lastError = "not connected yet";
  private volatile boolean closed;
  private long lookupTimer = -1;
  private boolean looking;
  private Consumer<LibvirtDomain> onFirstReady;
  private boolean announced;

  LibvirtDomain(Vertx vertx, String vm, SidecarConfig.Libvirt config, LibvirtHosts hosts, EventStream events) {
    this.vm = vm;
    this.config = config;
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.hosts = hosts;
    this.events = events;
  }

  /** The VM's name in the sidecar. */
  public String vm() {
    return vm;
  }

  public SidecarConfig.Libvirt config() {
    return config;
  }

  /** READY once the client is connected and the domain was found, else CONNECTING (or CLOSED). */
  QmpState state() {
    if (closed) {
      return QmpState.CLOSED;
    }
    LibvirtClient c = client;
    return c != null && c.isConnected() && domain != null ? QmpState.READY : QmpState.CONNECTING;
  }

  String lastError() {
    return state() == QmpState.READY ? null : lastError;
  }

  /** The client, once connected; fails with {@code UNAVAILABLE} before. */
  public Future<LibvirtClient> client() {
    LibvirtClient c = client;
    return c != null ? Future.succeededFuture(c) : Future.failedFuture(unavailable("libvirt at " + config.uri()
        + " is not connected: " + lastError));
  }

  /** The domain once found; fails with {@code UNAVAILABLE} naming why not. */
  public Future<DomainRef> domain() {
    DomainRef d = domain;
    LibvirtClient c = client;
    if (d != null && c != null && c.isConnected()) {
      return Future.succeededFuture(d);
    }
    return Future.failedFuture(unavailable("VM '" + vm + "' (libvirt domain " + config.domain() + " at "
        + config.uri() + ") is not reachable: " + (c != null && !c.isConnected() ? "libvirtd is reconnecting" : lastError)));
  }

  /** The live domain XML, parsed. */
  public Future<DomainXml> liveXml() {
    return call(c -> d -> c.liveXml(d)).map(DomainXml::parse);
  }

  /** {@code virDomainAttachDeviceFlags(LIVE)}. */
  public Future<Void> attachDevice(String xml) {
    return call(c -> d -> c.attachDevice(d, xml));
  }

  /** {@code virDomainDetachDeviceAlias(LIVE)}: only the request; completion is {@code DeviceRemoved}. */
  public Future<Void> detachAlias(String alias) {
    return call(c -> d -> c.detachDeviceAlias(d, alias));
  }

  public Future<DomainState> runState() {
    return call(c -> d -> c.state(d));
  }

  public Future<JobInfo> jobInfo() {
    return call(c -> d -> c.jobInfo(d));
  }

  public Future<JobInfo> completedJobInfo() {
    return call(c -> d -> c.completedJobInfo(d));
  }

  /** libvirt's taint and deprecation messages ({@code virsh dominfo}). */
  public Future<List<String>> messages() {
    return call(c -> d -> c.messages(d));
  }

  /** One QMP command through libvirt: <b>taints the domain</b> ({@code custom-monitor}). */
  public Future<String> qemuMonitorCommand(String json) {
    return call(c -> d -> c.qemuMonitorCommand(d, json));
  }

  /**
   * Runs a call of the client on the found domain; completes on this VM's context. libvirt's
   * failures become {@link SidecarException}s naming the VM.
   */
  public <T> Future<T> call(Function<LibvirtClient, Function<DomainRef, CompletableFuture<T>>> work) {
    return domain().compose(d -> Future.fromCompletionStage(work.apply(client).apply(d), context))
        .recover(e -> Future.failedFuture(SidecarException.from(e)));
  }

  /** Tells {@code listener} (on this VM's context) every libvirt event of this domain; returns the cancel. */
  public Runnable subscribe(Consumer<LibvirtEvent.OfDomain> listener) {
    subscribers.add(listener);
    return () -> subscribers.remove(listener);
  }

  /** Runs {@code listener} (on this VM's context) each time the domain is found again after a libvirtd restart or a restart of the domain. */
  public void onReconnected(Runnable listener) {
    reconnectListeners.add(listener);
  }

  /** Whether {@code e} is a libvirt error saying the domain is gone from this libvirtd. */
  static boolean domainGone(Throwable e) {
    return e instanceof LibvirtErrorException l && l.code() == LibvirtErrorException.NO_DOMAIN;
  }

  void start(Consumer<LibvirtDomain> firstReady) {
    this.onFirstReady = firstReady;
    hosts.client(config.uri()).onSuccess(c -> {
      client = c;
      c.addListener(listener);
      lookup();
    }).onFailure(e -> lastError = e.getMessage());
  }

  private void lookup() {
    if (closed || looking) {
      return;
    }
    looking = true;
    Future.fromCompletionStage(client.lookup(config.domain()), context).onComplete(ar -> {
      looking = false;
      if (ar.succeeded()) {
        found(ar.result(), false);
      } else {
        lastError = domainGone(ar.cause()) ? "no libvirt domain named '" + config.domain() + "' at " + config.uri()
            + " (yet): start it, or fix vms[].libvirt.domain" : ar.cause().getMessage();
        lookupTimer = vertx.setTimer(LOOKUP_INTERVAL.toMillis(), t -> lookup());
      }
    });
  }

  /** The domain was found; {@code anew}: it is another run of it (started again), so what was plugged is gone. */
  private void found(DomainRef d, boolean anew) {
    DomainRef before = domain;
    domain = d;
    lastError = null;
    vertx.cancelTimer(lookupTimer);
    if (!announced) {
      announced = true;
      LOG.info("VM {}: libvirt domain {} at {}", vm, d, config.uri());
      onFirstReady.accept(this);
    } else if (anew || before == null || !before.uuid().equals(d.uuid())) {
      reconnectListeners.forEach(Runnable::run);
    }
  }

  private void onLibvirtEvent(LibvirtEvent e) {
    if (e instanceof LibvirtEvent.Reconnected r && r.uri().equals(config.uri())) {
      context.runOnContext(v -> {
        events.publish(vm, "libvirt.reconnected", null, JsonNodeFactory.instance.objectNode().put("uri", r.uri())
            .put("attempts", r.attempts()).put("detail", "libvirtd was reached again; events in between were not seen"));
        Future.fromCompletionStage(client.lookup(config.domain()), context).onComplete(ar -> {
          if (ar.succeeded()) {
            found(ar.result(), true);
          } else {
            domain = null;
            lastError = "after libvirtd reconnected: " + ar.cause().getMessage();
            lookup();
          }
        });
      });
      return;
    }
    if (e instanceof LibvirtEvent.ConnectionLost lost && lost.uri().equals(config.uri())) {
      lastError = "libvirtd connection lost (" + lost.reason() + "); reconnecting";
      return;
    }
    if (!(e instanceof LibvirtEvent.OfDomain of) || !mine(of.domain())) {
      return;
    }
    context.runOnContext(v -> {
      if (of instanceof LibvirtEvent.Lifecycle l) {
        lifecycle(l);
      }
      publish(of);
      subscribers.forEach(s -> s.accept(of));
    });
  }

  /**
   * Follows the domain: started (again, or arriving by migration) it is found anew, and what was
   * plugged before is gone; stopped (or migrated away) it is looked up again until it is back.
   */
  private void lifecycle(LibvirtEvent.Lifecycle l) {
    switch (l.type()) {
      case STARTED -> found(l.domain(), true);
      case RESUMED -> {
        if (domain == null || !domain.uuid().equals(l.domain().uuid())) {
          found(l.domain(), true);
        }
      }
      case STOPPED -> {
        domain = null;
        lastError = l.migrated() ? "the domain migrated to another libvirtd" : "the domain stopped";
        lookupTimer = vertx.setTimer(LOOKUP_INTERVAL.toMillis(), t -> lookup());
      }
      default -> { }
    }
  }

  private boolean mine(DomainRef d) {
    DomainRef known = domain;
    return known != null ? known.uuid().equals(d.uuid()) || d.name().equals(config.domain())
        : d.name().equals(config.domain());
  }

  private void publish(LibvirtEvent.OfDomain e) {
    JsonNodeFactory f = JsonNodeFactory.instance;
    if (e instanceof LibvirtEvent.QemuMonitorEvent q) {
      if (!TYPED.contains(q.event())) {
        events.publishQemu(vm, "qmp." + q.event(), parse(q.data()),
            Instant.ofEpochSecond(q.seconds(), q.micros() * 1000L));
      }
      return;
    }
    if (e instanceof LibvirtEvent.Lifecycle l) {
      ObjectNode d = f.objectNode().put("event", l.type().name()).put("detail", l.detail()).put("migrated", l.migrated());
      events.publish(vm, "libvirt.lifecycle", null, d);
      String qmp = switch (l.type()) {
        case SUSPENDED -> "STOP";
        case RESUMED, STARTED -> "RESUME";
        case SHUTDOWN, STOPPED -> "SHUTDOWN";
        default -> null;
      };
      if (qmp != null) {
        events.publish(vm, "qmp." + qmp, null, f.objectNode().put("source", "libvirt")
            .put("libvirtEvent", l.type().name()).put("migrated", l.migrated()));
      }
    } else if (e instanceof LibvirtEvent.DeviceRemoved r) {
      events.publish(vm, "libvirt.device-removed", null, f.objectNode().put("alias", r.alias()));
      events.publish(vm, "qmp.DEVICE_DELETED", null, f.objectNode().put("device", r.alias())
          .put("path", "/machine/peripheral/" + r.alias()).put("source", "libvirt"));
    } else if (e instanceof LibvirtEvent.DeviceRemovalFailed r) {
      events.publish(vm, "libvirt.device-removal-failed", null, f.objectNode().put("alias", r.alias()));
    } else if (e instanceof LibvirtEvent.DeviceAdded a) {
      events.publish(vm, "libvirt.device-added", null, f.objectNode().put("alias", a.alias()));
    } else if (e instanceof LibvirtEvent.JobCompleted j) {
      ObjectNode d = f.objectNode().put("type", j.job().type().name());
      j.job().operation().ifPresent(o -> d.put("operation", o.name()));
      j.job().timeElapsedMs().ifPresent(t -> d.put("timeElapsedMs", t));
      j.job().number("data_total").ifPresent(t -> d.put("dataTotal", t));
      events.publish(vm, "libvirt.job-completed", null, d);
    } else if (e instanceof LibvirtEvent.MigrationIteration i) {
      events.publish(vm, "libvirt.migration-iteration", null, f.objectNode().put("iteration", i.iteration()));
    }
  }

  private static JsonNode parse(String data) {
    if (data == null || data.isEmpty()) {
      return JsonNodeFactory.instance.objectNode();
    }
    try {
      return JSON.readTree(data);
    } catch (java.io.IOException ex) {
      return JsonNodeFactory.instance.objectNode().put("raw", data);
    }
  }

  private SidecarException unavailable(String message) {
    return SidecarException.of(Kind.UNAVAILABLE, "vm-unavailable", message).vm(vm).detail("vm", vm)
        .fix("the sidecar keeps reconnecting to libvirtd and looking the domain up, retry shortly").build();
  }

  void close() {
    closed = true;
    vertx.cancelTimer(lookupTimer);
    LibvirtClient c = client;
    if (c != null) {
      c.removeListener(listener);
    }
  }
}
