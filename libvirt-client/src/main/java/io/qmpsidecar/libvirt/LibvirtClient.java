package io.qmpsidecar.libvirt;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import io.qmpsidecar.libvirt.impl.Calls;
import io.qmpsidecar.libvirt.impl.LibvirtNative;
import io.qmpsidecar.libvirt.impl.Session;
import io.qmpsidecar.libvirt.impl.TypedParameters;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.event.ConnectionCloseReason;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An asynchronous client for one libvirt URI on top of libvirt-java. No call blocks its caller:
 * libvirt's blocking calls run on a bounded pool of worker threads, each with a timeout, and
 * every future completes on a worker thread (or the timer's), never on the caller's. Hop onto
 * your own context (e.g. Vert.x {@code Future.fromCompletionStage(stage, context)}).
 *
 * <p>Futures fail with {@link LibvirtErrorException} (libvirt's own error),
 * {@link LibvirtTimeoutException}, or {@link LibvirtUnavailableException} (not connected, closed,
 * or too many calls waiting). Device calls act on the live domain only
 * ({@code VIR_DOMAIN_AFFECT_LIVE}): nothing is written to a persistent definition.
 *
 * <p>The client reconnects by itself when libvirtd goes away (restart, crash, keepalive
 * timeout), re-registers its events and reports {@link LibvirtEvent.ConnectionLost} and
 * {@link LibvirtEvent.Reconnected}. Listeners run on libvirt's event-loop thread
 * ({@link LibvirtEvent.Reconnected} on the client's connect thread) and must not block.
 */
public final class LibvirtClient {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtClient.class);
  private static final AtomicInteger CLIENTS = new AtomicInteger();

  private final LibvirtClientOptions options;
  private final Calls calls;
  private final ExecutorService connector;
  private final List<Consumer<LibvirtEvent>> listeners = new CopyOnWriteArrayList<>();
  private volatile Session session;
  private volatile boolean closed;

  private LibvirtClient(LibvirtClientOptions options) {
    this.options = options;
    String name = "libvirt-" + CLIENTS.incrementAndGet();
    this.calls = new Calls(name, options.workers(), options.maxQueuedCalls());
    this.connector = Executors.newSingleThreadExecutor(Calls.threads(name + "-connect-"));
  }

  /**
   * libvirt's C library, loaded on first use: on the connect thread, so that a host without it
   * fails {@link #connect}'s future with {@link LibvirtUnavailableException} instead of throwing
   * at its caller.
   */
  private static LibvirtNative.Virt virt() {
    return LibvirtNative.Virt.INSTANCE;
  }

  /**
   * Opens a client on {@code options.uri()}. The future completes once connected with events
   * registered, and fails with {@link LibvirtErrorException} when libvirt refuses the first
   * connection (no retry for the first one), or {@link LibvirtTimeoutException} after
   * {@code connectTimeout}.
   */
  public static CompletableFuture<LibvirtClient> connect(LibvirtClientOptions options) {
    LibvirtClient client = new LibvirtClient(options);
    CompletableFuture<LibvirtClient> result = new CompletableFuture<>();
    String op = "connect " + options.uri();
    client.connector.execute(() -> {
      try {
        client.session = client.openSession();
        if (!result.complete(client)) {
          client.close();
        }
      } catch (LibvirtException e) {
        client.shutdownThreads();
        result.completeExceptionally(Session.translate(op, e));
      } catch (RuntimeException e) {
        client.shutdownThreads();
        result.completeExceptionally(e instanceof LibvirtClientException ? e
            : new LibvirtClientException(op, op + ": " + e.getMessage(), e));
      } catch (LinkageError e) {
        client.shutdownThreads();
        result.completeExceptionally(new LibvirtUnavailableException(op, "cannot load libvirt's C library ("
            + e.getMessage() + "); install libvirt0 (Debian: apt-get install libvirt0)", e));
      }
    });
    // On timeout the close queues behind the open on the connect thread, so a late session is closed too.
    client.calls.schedule(() -> {
      if (result.completeExceptionally(new LibvirtTimeoutException(op, options.connectTimeout()))) {
        client.close();
      }
    }, options.connectTimeout().toMillis());
    return result;
  }

  public String uri() {
    return options.uri();
  }

  public LibvirtClientOptions options() {
    return options;
  }

  /** True while a connection is open (false between a loss and the reconnect, and after close). */
  public boolean isConnected() {
    return session != null && !closed;
  }

  /**
   * Adds a listener for every {@link LibvirtEvent}. It runs on libvirt's event-loop thread
   * ({@link LibvirtEvent.Reconnected}: on the connect thread) and must not block.
   */
  public void addListener(Consumer<LibvirtEvent> listener) {
    listeners.add(listener);
  }

  public void removeListener(Consumer<LibvirtEvent> listener) {
    listeners.remove(listener);
  }

  /** The domain named {@code name}; fails with {@code VIR_ERR_NO_DOMAIN} when there is none. */
  public CompletableFuture<DomainRef> lookup(String name) {
    return call("lookup " + name, s -> {
      Domain d = s.connect().domainLookupByName(name);
      try {
        return new DomainRef(d.getName(), d.getUUIDString());
      } finally {
        d.free();
      }
    });
  }

  /** The running domains (those with an id), for discovery. */
  public CompletableFuture<List<DomainRef>> runningDomains() {
    return call("list domains", s -> {
      List<DomainRef> out = new ArrayList<>();
      for (int id : s.connect().listDomains()) {
        Domain d = s.connect().domainLookupByID(id);
        try {
          out.add(new DomainRef(d.getName(), d.getUUIDString()));
        } finally {
          d.free();
        }
      }
      return List.copyOf(out);
    });
  }

  /** The domain's state ({@code virDomainGetInfo}). */
  public CompletableFuture<DomainState> state(DomainRef domain) {
    return onDomain("state", domain, d -> DomainState.of(d.getInfo().state.ordinal()));
  }

  /** The live domain XML ({@code virDomainGetXMLDesc}, no flags). */
  public CompletableFuture<String> liveXml(DomainRef domain) {
    return onDomain("live XML", domain, d -> d.getXMLDesc(0));
  }

  /**
   * Hot-plugs a device into the running domain ({@code virDomainAttachDeviceFlags} with
   * {@code VIR_DOMAIN_AFFECT_LIVE}). Completes when libvirt has added it to the live definition.
   */
  public CompletableFuture<Void> attachDevice(DomainRef domain, String deviceXml) {
    return onDomain("attach device", domain, d -> {
      d.attachDeviceFlags(deviceXml, LibvirtNative.AFFECT_LIVE);
      return null;
    });
  }

  /**
   * Asks for the removal of the device with user alias {@code alias}
   * ({@code virDomainDetachDeviceAlias}, {@code VIR_DOMAIN_AFFECT_LIVE}). Completes when the
   * request is sent: the removal itself is done when {@link LibvirtEvent.DeviceRemoved} arrives
   * (it needs the guest's consent), or refused with {@link LibvirtEvent.DeviceRemovalFailed}.
   */
  public CompletableFuture<Void> detachDeviceAlias(DomainRef domain, String alias) {
    String op = "detach device " + alias + " from " + domain.name();
    return call(op, s -> s.withDomain(op, domain, dom -> {
      if (virt().virDomainDetachDeviceAlias(dom, alias, LibvirtNative.AFFECT_LIVE) < 0) {
        throw Session.lastError(op);
      }
      return null;
    }));
  }

  /**
   * Sends one QMP command to the domain's monitor through libvirt
   * ({@code virDomainQemuMonitorCommand}). <b>libvirt taints the domain</b>
   * ({@code custom-monitor}) the first time: callers must say so before they call. Completes with
   * QEMU's whole reply as text ({@code {"return": ...}} or {@code {"error": ...}}).
   */
  public CompletableFuture<String> qemuMonitorCommand(DomainRef domain, String commandJson) {
    return onDomain("QMP command", domain, d -> d.qemuMonitorCommand(commandJson, 0));
  }

  /** Resets the domain like a reset button ({@code virDomainReset}). */
  public CompletableFuture<Void> reset(DomainRef domain) {
    return onDomain("reset", domain, d -> {
      d.reset();
      return null;
    });
  }

  /** Resumes a paused domain. */
  public CompletableFuture<Void> resume(DomainRef domain) {
    return onDomain("resume", domain, d -> {
      d.resume();
      return null;
    });
  }

  /** Stops the domain at once ({@code virDomainDestroy}). */
  public CompletableFuture<Void> destroy(DomainRef domain) {
    return onDomain("destroy", domain, d -> {
      d.destroy();
      return null;
    });
  }

  /** Aborts the domain's current job, e.g. a migration ({@code virDomainAbortJob}). */
  public CompletableFuture<Void> abortJob(DomainRef domain) {
    return onDomain("abort job", domain, d -> {
      d.abortJob();
      return null;
    });
  }

  /** Starts a transient domain from {@code xml}, paused when asked ({@code virDomainCreateXML}). */
  public CompletableFuture<DomainRef> createTransient(String xml, boolean paused) {
    return call("create domain", s -> {
      Domain d = s.connect().domainCreateXML(xml, paused ? 1 : 0);
      try {
        return new DomainRef(d.getName(), d.getUUIDString());
      } finally {
        d.free();
      }
    });
  }

  /** The domain's current job ({@code virDomainGetJobStats}); type NONE when there is none. */
  public CompletableFuture<JobInfo> jobInfo(DomainRef domain) {
    return jobStats(domain, 0);
  }

  /** The domain's last completed job ({@code VIR_DOMAIN_JOB_STATS_COMPLETED}). */
  public CompletableFuture<JobInfo> completedJobInfo(DomainRef domain) {
    return jobStats(domain, LibvirtNative.JOB_STATS_COMPLETED);
  }

  private CompletableFuture<JobInfo> jobStats(DomainRef domain, int flags) {
    String op = "job info of " + domain.name();
    return call(op, s -> s.withDomain(op, domain, dom -> {
      IntByReference type = new IntByReference();
      PointerByReference params = new PointerByReference();
      IntByReference count = new IntByReference();
      if (virt().virDomainGetJobStats(dom, type, params, count, flags) < 0) {
        throw Session.lastError(op);
      }
      try {
        return new JobInfo(JobInfo.Type.of(type.getValue()), TypedParameters.read(params.getValue(), count.getValue()));
      } finally {
        virt().virTypedParamsFree(params.getValue(), count.getValue());
      }
    }));
  }

  /**
   * libvirt's messages about the domain ({@code virDomainGetMessages}): taint reasons
   * ({@code tainted: ...}) and deprecations, as {@code virsh dominfo} shows them.
   */
  public CompletableFuture<List<String>> messages(DomainRef domain) {
    String op = "messages of " + domain.name();
    return call(op, s -> s.withDomain(op, domain, dom -> {
      PointerByReference msgs = new PointerByReference();
      int n = virt().virDomainGetMessages(dom, msgs, 0);
      if (n < 0) {
        throw Session.lastError(op);
      }
      List<String> out = new ArrayList<>(n);
      Pointer array = msgs.getValue();
      for (int i = 0; i < n; i++) {
        Pointer p = array.getPointer((long) i * Native.POINTER_SIZE);
        out.add(p.getString(0, "UTF-8"));
        Native.free(Pointer.nativeValue(p));
      }
      if (array != null) {
        Native.free(Pointer.nativeValue(array));
      }
      return List.copyOf(out);
    }));
  }

  /**
   * Peer-to-peer migration ({@code virDomainMigrateToURI3} with {@code VIR_MIGRATE_PEER2PEER}):
   * the source libvirtd connects to {@code destinationUri} itself. Completes when the migration
   * has finished; fails with libvirt's error otherwise. libvirt refuses a destination URI
   * without a host name or one starting with "localhost", and a destination with this host's
   * UUID ("Attempt to migrate guest to the same host").
   */
  public CompletableFuture<Void> migrateToUri3(DomainRef domain, String destinationUri, MigrationOptions migration) {
    String op = "migrate " + domain.name() + " to " + destinationUri;
    MigrationOptions p2p = migration.withFlag(MigrationFlag.PEER2PEER);
    return call(op, options.migrationTimeout(), s -> s.withDomain(op, domain, dom -> {
      TypedParameters.Block params = params(p2p);
      if (virt().virDomainMigrateToURI3(dom, destinationUri, params.pointer(), params.count(), p2p.flagBits()) < 0) {
        throw Session.lastError(op);
      }
      return null;
    }));
  }

  /**
   * Managed direct migration ({@code virDomainMigrate3}): this client drives both ends, with
   * {@code destination}'s connection. Completes with the domain on the destination.
   */
  public CompletableFuture<DomainRef> migrate(DomainRef domain, LibvirtClient destination, MigrationOptions migration) {
    String op = "migrate " + domain.name() + " to " + destination.uri();
    if (migration.flags().contains(MigrationFlag.PEER2PEER)) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(
          op + ": PEER2PEER belongs to migrateToUri3, not to a managed migration"));
    }
    return call(op, options.migrationTimeout(), s -> {
      Session dest = destination.session;
      if (dest == null) {
        throw new LibvirtUnavailableException(op, "the destination client is not connected");
      }
      return s.withDomain(op, domain, dom -> {
        TypedParameters.Block params = params(migration);
        Pointer moved = virt().virDomainMigrate3(dom, dest.pointer(), params.pointer(), params.count(), migration.flagBits());
        if (moved == null) {
          throw Session.lastError(op);
        }
        try {
          return Session.ref(moved);
        } finally {
          virt().virDomainFree(moved);
        }
      });
    });
  }

  private static TypedParameters.Block params(MigrationOptions m) {
    TypedParameters.Builder b = TypedParameters.builder();
    m.migrateUri().ifPresent(u -> b.string("migrate_uri", u));
    m.listenAddress().ifPresent(a -> b.string("listen_address", a));
    if (m.bandwidthMiBs() > 0) {
      b.ulong("bandwidth", m.bandwidthMiBs());
    }
    return b.build();
  }

  /**
   * Closes the connection and stops the client's threads. Calls still waiting fail with
   * {@link LibvirtUnavailableException}. Completes when the connection is closed.
   */
  public CompletableFuture<Void> close() {
    closed = true;
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      connector.execute(() -> {
        Session s = session;
        session = null;
        if (s != null) {
          s.closeQuietly();
        }
        done.complete(null);
      });
    } catch (RejectedExecutionException e) {
      done.complete(null);
    }
    return done.whenComplete((v, e) -> shutdownThreads());
  }

  private void shutdownThreads() {
    calls.shutdown();
    connector.shutdown();
  }

  private Session openSession() throws LibvirtException {
    Session[] holder = new Session[1];
    holder[0] = Session.open(options.uri(), options.keepAliveIntervalSeconds(), options.keepAliveCount(),
        options.qemuMonitorEvents(), this::dispatch, (conn, reason) -> onClosed(holder[0], reason));
    return holder[0];
  }

  private void onClosed(Session which, ConnectionCloseReason reason) {
    if (closed || which == null || which != session) {
      return;
    }
    session = null;
    LOG.warn("connection to libvirtd at {} closed ({}); reconnecting", options.uri(), reason);
    dispatch(new LibvirtEvent.ConnectionLost(options.uri(), String.valueOf(reason)));
    connector.execute(which::closeQuietly);
    scheduleReconnect(1);
  }

  private void scheduleReconnect(int attempt) {
    if (closed) {
      return;
    }
    long min = options.reconnectMin().toMillis();
    long delay = Math.min(options.reconnectMax().toMillis(), min << Math.min(attempt - 1, 20));
    calls.schedule(() -> {
      try {
        connector.execute(() -> reconnect(attempt));
      } catch (RejectedExecutionException e) {
        // Closed meanwhile.
      }
    }, delay);
  }

  private void reconnect(int attempt) {
    if (closed) {
      return;
    }
    try {
      session = openSession();
      if (closed) {
        Session s = session;
        session = null;
        s.closeQuietly();
        return;
      }
      LOG.info("reconnected to libvirtd at {} after {} attempt(s)", options.uri(), attempt);
      dispatch(new LibvirtEvent.Reconnected(options.uri(), attempt));
    } catch (LibvirtException | RuntimeException e) {
      LOG.debug("reconnect attempt {} to {} failed: {}", attempt, options.uri(), e.getMessage());
      scheduleReconnect(attempt + 1);
    }
  }

  private void dispatch(LibvirtEvent event) {
    for (Consumer<LibvirtEvent> l : listeners) {
      try {
        l.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("libvirt event listener threw on {}", event, e);
      }
    }
  }

  /** Work against a binding {@link Domain}; may block. */
  @FunctionalInterface
  private interface DomainWork<T> {
    T run(Domain d) throws LibvirtException;
  }

  private <T> CompletableFuture<T> onDomain(String what, DomainRef domain, DomainWork<T> work) {
    return call(what + " of " + domain.name(), s -> {
      Domain d = s.connect().domainLookupByUUIDString(domain.uuid());
      try {
        return work.run(d);
      } finally {
        d.free();
      }
    });
  }

  private <T> CompletableFuture<T> call(String operation, Calls.Work<T> work) {
    return call(operation, options.callTimeout(), work);
  }

  private <T> CompletableFuture<T> call(String operation, Duration timeout, Calls.Work<T> work) {
    if (closed) {
      return CompletableFuture.failedFuture(new LibvirtUnavailableException(operation, "the libvirt client is closed"));
    }
    Session s = session;
    if (s == null) {
      return CompletableFuture.failedFuture(new LibvirtUnavailableException(operation,
          "not connected to libvirtd at " + options.uri() + " (it is down or restarting); the client "
              + "reconnects by itself: retry after it reports Reconnected"));
    }
    return calls.submit(operation, timeout, s, work);
  }
}
