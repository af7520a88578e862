package io.qmpsidecar.sidecar.libvirt;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.libvirt.MigrationOptions;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.FunctionHotplug;
import io.qmpsidecar.sidecar.migration.PublishedMigrationEvent;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.vm.LibvirtDomain;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A migration of a libvirt VM that the sidecar drives: libvirt's managed migration
 * ({@code virDomainMigrate3}, the sidecar holding both libvirtd connections), with the DPU told
 * each step and every attached function following its strategy: {@code unplug-replug} detaches it
 * (completion awaited) before and attaches it on the destination after; {@code vfio-migration}
 * lets it move with the domain (an emulated stand-in; libvirt refuses a domain with a PCI host
 * device); {@code block} refuses. What libvirt would refuse is refused before anything changes.
 * Published as {@code migration.coordination}, {@code migration.function} and
 * {@code migration.status}, as for a QMP VM.
 */
public final class LibvirtMigration {
  /** The states of a run, in the order a successful run takes them. */
  public enum State { PREFLIGHT, DETACHING, MIGRATING, FINISHING, COMPLETED, ROLLING_BACK, ROLLED_BACK, FAILED, CANCELLED }

  /** How long a detach before the migration may wait for the guest. */
  static final Duration DETACH_TIMEOUT = Duration.ofSeconds(60);
  /** How long the destination's domain may take to be found after the migration. */
  static final Duration ARRIVAL_TIMEOUT = Duration.ofSeconds(30);

  private final Vertx vertx;
  private final EventStream events;
  private final StateStore store;
  private final FunctionHotplug hotplug;
  private final LibvirtDomain source;
  private final LibvirtDomain destination;
  private final List<Attachment> functions;
  private final Strategy strategy;
  private final String opId;
  private final String caller;
  private final MigrationOptions options;
  private final Instant startedAt = Instant.now();
  private final Promise<Void> result = Promise.promise();
  private final List<Attachment> detached = new ArrayList<>();
  private volatile State state = State.PREFLIGHT;
  private volatile boolean cancelled;

  private LibvirtMigration(Vertx vertx, EventStream events, StateStore store, FunctionHotplug hotplug,
      LibvirtDomain source, LibvirtDomain destination, List<Attachment> functions, Strategy strategy,
      MigrationOptions options, String opId, String caller) {
    this.vertx = vertx;
    this.events = events;
    this.store = store;
    this.hotplug = hotplug;
    this.source = source;
    this.destination = destination;
    this.functions = List.copyOf(functions);
    this.strategy = strategy;
    this.options = options;
    this.opId = opId;
    this.caller = caller;
  }

  /**
   * Checks what libvirt would refuse, then starts the run.
   *
   * @param uri where QEMU sends the stream: {@code tcp:HOST:PORT} or {@code tcp://HOST[:PORT]};
   *     the destination QEMU listens on HOST
   * @return the running migration; fails with {@link SidecarException} ({@code CONFLICT}
   *     {@code migration-refused}, {@code MIGRATION_BLOCKED}, {@code MIGRATING}, {@code INVALID})
   *     before anything changed
   */
  public static Future<LibvirtMigration> start(Vertx vertx, EventStream events, StateStore store, FunctionHotplug hotplug,
      LibvirtDomain source, LibvirtDomain destination, List<Attachment> functions, Strategy strategy, String uri,
      String opId, String caller) {
    String vm = source.vm();
    MigrationOptions options;
    try {
      options = options(uri);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(SidecarException.of(Kind.INVALID, "bad-request", "VM " + vm + ": " + e.getMessage())
          .vm(vm).build());
    }
    if (source.config().uri().equals(destination.config().uri())) {
      return Future.failedFuture(refused(vm, "the destination " + destination.vm() + " is on the same libvirtd ("
          + source.config().uri() + "); libvirt refuses a migration to the same host"));
    }
    if (!source.config().domain().equals(destination.config().domain())) {
      return Future.failedFuture(refused(vm, "the domain keeps its name when libvirt migrates it, but VM "
          + destination.vm() + " is configured for domain " + destination.config().domain() + ", not "
          + source.config().domain()));
    }
    List<String> blocked = new ArrayList<>();
    for (Attachment a : functions) {
      if (strategy == Strategy.BLOCK) {
        blocked.add(a.id() + ": strategy block");
      } else if (strategy == Strategy.FAILOVER) {
        blocked.add(a.id() + ": virtio-net failover is not offered on libvirt VMs (its pairing is set in the"
            + " domain XML by the manager)");
      } else if (strategy == Strategy.VFIO_MIGRATION && a.hostBdf() != null) {
        blocked.add(a.id() + ": " + LibvirtAttachFlow.HOSTDEV_BLOCKS_MIGRATION + "; use unplug-replug");
      }
    }
    if (!blocked.isEmpty()) {
      return Future.failedFuture(SidecarException.of(Kind.MIGRATION_BLOCKED, "migration-blocked", "VM " + vm
          + " cannot migrate as asked: " + String.join("; ", blocked)).vm(vm).detail("blockedReasons", blocked)
          .fix("detach those functions or choose another strategy").build());
    }
    return source.jobInfo().compose(job -> {
      if (LibvirtAttachFlow.migrating(job)) {
        return Future.failedFuture(LibvirtFailures.migrating(vm, job.operation().map(Enum::name).orElse("migration")));
      }
      return destination.client();
    }).map(c -> {
      LibvirtMigration run = new LibvirtMigration(vertx, events, store, hotplug, source, destination, functions,
          strategy, options, opId, caller);
      run.run();
      return run;
    });
  }

  private static SidecarException refused(String vm, String why) {
    return SidecarException.of(Kind.CONFLICT, "migration-refused", "VM " + vm + ": " + why).vm(vm)
        .fix("name a destination VM served by another libvirtd, configured for the same domain").build();
  }

  /** {@code tcp:HOST:PORT} (QEMU's form) or {@code tcp://HOST[:PORT]} (libvirt's) as libvirt's parameters. */
  static MigrationOptions options(String uri) {
    String libvirtForm = uri.startsWith("tcp://") ? uri : uri.startsWith("tcp:") ? "tcp://" + uri.substring(4) : null;
    if (libvirtForm == null) {
      throw new IllegalArgumentException("a libvirt migration takes a tcp URI (tcp:HOST:PORT or tcp://HOST[:PORT]), not '"
          + uri + "'");
    }
    String host = URI.create(libvirtForm).getHost();
    if (host == null) {
      throw new IllegalArgumentException("no host in '" + uri + "'");
    }
    return MigrationOptions.live().withMigrateUri(libvirtForm).withListenAddress(host);
  }

  public String vm() {
    return source.vm();
  }

  public String destination() {
    return destination.vm();
  }

  public State state() {
    return state;
  }

  public Instant startedAt() {
    return startedAt;
  }

  public Strategy strategy() {
    return strategy;
  }

  /** Completes when the run has ended; fails with the reason it did not complete. */
  public Future<Void> result() {
    return result.future();
  }

  /** Asks libvirt to abort the migration job ({@code virDomainAbortJob}); the run then rolls back. */
  public Future<Void> cancel() {
    cancelled = true;
    if (state != State.MIGRATING) {
      return Future.succeededFuture();
    }
    return source.call(c -> d -> c.abortJob(d));
  }

  private void run() {
    coordination(State.PREFLIGHT, "libvirt managed migration to " + destination.vm() + " (" + destination.config().uri()
        + ") over " + options.migrateUri().orElse("") + ", " + functions.size() + " function(s), strategy "
        + strategy.wireName());
    Future<Void> detaching = Future.succeededFuture();
    if (strategy == Strategy.UNPLUG_REPLUG && !functions.isEmpty()) {
      coordination(State.DETACHING, "detaching " + functions.size() + " function(s) before the migration");
      for (Attachment a : functions) {
        detaching = detaching.compose(v -> {
          if (cancelled) {
            return cancelledFailure();
          }
          return hotplug.detach(vm(), a.id(), DETACH_TIMEOUT).onSuccess(x -> {
            detached.add(a);
            function(a, "detached", "released by the guest before the migration");
          });
        });
      }
    }
    // A cancel answered while the functions were being detached stops the run before libvirt's job starts.
    detaching.compose(v -> cancelled ? cancelledFailure() : migrate()).compose(v -> finish()).onComplete(ar -> {
      if (ar.succeeded()) {
        coordination(State.COMPLETED, "the domain runs on " + destination.config().uri());
        result.tryComplete();
      } else {
        rollback(ar.cause());
      }
    });
  }

  private Future<Void> cancelledFailure() {
    return Future.failedFuture(SidecarException.of(Kind.FAILED, "migration-cancelled", "VM " + vm()
        + ": migration cancelled").vm(vm()).build());
  }

  private Future<Void> migrate() {
    coordination(State.MIGRATING, "virDomainMigrate3 (live) running");
    status("active", "source", null);
    return source.domain().compose(d -> source.client().compose(sourceClient -> destination.client()
            .compose(destClient -> Future.fromCompletionStage(sourceClient.migrate(d, destClient, options),
                vertx.getOrCreateContext()))))
        .recover(e -> Future.failedFuture(SidecarException.from(e)))
        // Completion reaches the stream from libvirt's own events (LibvirtMigrationObserver), as for any migration.
        .onFailure(e -> status(cancelled ? "cancelled" : "failed", "source", e.getMessage()))
        .mapEmpty();
  }

  private Future<Void> finish() {
    coordination(State.FINISHING, "the domain arrived; its functions follow");
    return arrived(System.nanoTime() + ARRIVAL_TIMEOUT.toNanos()).compose(v -> {
      Future<Void> chain = Future.succeededFuture();
      for (Attachment a : functions) {
        if (strategy == Strategy.UNPLUG_REPLUG) {
          chain = chain.compose(x -> hotplug.attach(destination.vm(), spec(a))
              .onSuccess(y -> function(a, "attached", "attached on " + destination.vm() + " after the migration")));
        } else {
          // The stand-in moved with the domain: the sidecar's record moves with it.
          Attachment moved = new Attachment(destination.vm(), a.id(), a.driver(), a.hostBdf(), a.rootPort(),
              a.properties(), a.hostRebound(), a.previousHostDriver(), a.guestAddress(), a.migrationBlockedReasons(),
              a.state(), a.opId(), a.attachedBy());
          chain = chain.compose(x -> store.remove(vm(), a.id())).compose(x -> store.put(moved))
              .onSuccess(y -> function(a, "moved", "moved with the domain to " + destination.vm()));
        }
      }
      return chain;
    });
  }

  /** Waits (bounded) until the destination's VM has found the domain that arrived. */
  private Future<Void> arrived(long deadline) {
    return destination.domain().<Void>mapEmpty().recover(e -> {
      if (System.nanoTime() > deadline) {
        return Future.failedFuture(e);
      }
      Promise<Void> later = Promise.promise();
      vertx.setTimer(200, t -> arrived(deadline).onComplete(later));
      return later.future();
    });
  }

  private void rollback(Throwable cause) {
    boolean stillHere = state == State.MIGRATING || state == State.DETACHING || state == State.PREFLIGHT;
    if (!stillHere || detached.isEmpty()) {
      coordination(cancelled ? State.CANCELLED : State.FAILED, cause.getMessage());
      result.tryFail(cause);
      return;
    }
    coordination(State.ROLLING_BACK, "re-attaching " + detached.size() + " function(s) on " + vm() + ": "
        + cause.getMessage());
    Future<Void> chain = Future.succeededFuture();
    for (Attachment a : detached) {
      chain = chain.compose(v -> hotplug.attach(vm(), spec(a))
          .onSuccess(x -> function(a, "reattached", "re-attached on " + vm() + " after the failed migration")));
    }
    chain.onComplete(ar -> {
      coordination(ar.succeeded() ? State.ROLLED_BACK : State.FAILED, ar.succeeded() ? cause.getMessage()
          : cause.getMessage() + "; re-attach failed: " + ar.cause().getMessage());
      result.tryFail(cause);
    });
  }

  private static DeviceSpec spec(Attachment a) {
    return new DeviceSpec(a.id(), a.driver(), a.hostBdf() == null ? Map.of() : Map.of("host", a.hostBdf()));
  }

  private void coordination(State next, String detail) {
    state = next;
    publish(vm(), PublishedMigrationEvent.MIGRATION_COORDINATION, JsonNodeFactory.instance.objectNode()
        .put("state", next.name().toLowerCase(Locale.ROOT).replace('_', '-')).put("detail", detail)
        .put("destination", destination.vm()));
  }

  private void function(Attachment a, String step, String detail) {
    publish(vm(), PublishedMigrationEvent.MIGRATION_FUNCTION, JsonNodeFactory.instance.objectNode()
        .put("device", a.id()).put("strategy", strategy.wireName()).put("reason", MigratingFunction.REQUESTED)
        .put("step", step).put("detail", detail));
  }

  private void status(String status, String role, String error) {
    ObjectNode d = JsonNodeFactory.instance.objectNode().put("status", status).put("role", role);
    if (error != null) {
      d.put("error", error);
    }
    publish(vm(), PublishedMigrationEvent.MIGRATION_STATUS, d);
  }

  private void publish(String vm, String type, ObjectNode data) {
    ObjectNode d = JsonNodeFactory.instance.objectNode().put("vm", vm).put("backend", "libvirt");
    d.setAll(data);
    events.publish(vm, type, opId, d.put("caller", caller));
  }
}
