package io.qmpsidecar.sidecar.vm;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpState;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.qmp.ReconnectPolicy;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One served VM and how it is reached: its QMP connection, or, for a VM managed by libvirt, its
 * {@link LibvirtDomain} (then {@link #ready()} refuses: the sidecar never speaks QMP behind
 * libvirt's back). The QMP connection reconnects by itself once it was ready; before that (QEMU
 * not started yet) this handle retries the first connect with the same backoff, so the sidecar
 * may start before its QEMU.
 */
public final class VmHandle {
  private static final Logger LOG = LoggerFactory.getLogger(VmHandle.class);
  /** How often a connected QEMU is asked whether it still answers. */
  static final Duration PROBE_INTERVAL = Duration.ofSeconds(2);
  /** How long a liveness probe waits before QEMU counts as unresponsive. */
  static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

  private final String name;
  private final QmpAddress address;
  private final Vertx vertx;
  private final QmpClient client;
  private final ReconnectPolicy reconnect;
  private final Consumer<QmpConnection> beforeOpen;
  private final Consumer<QmpConnection> onFirstReady;
  private final LibvirtDomain libvirt;
  private volatile QmpConnection connection;
  private volatile String lastError = "not connected yet";
  private volatile boolean closed;
  private volatile String unresponsive;
  /** A live update is handing the VM to a new QEMU: this connection's QEMU is on its way out. */
  private volatile boolean retiring;
  /** QEMU's run state as last read, or null before the first read. */
  private volatile String runState;
  /** A probe is out: the next one waits for it (a hung QEMU must not pile them up). Guarded by this. */
  private boolean probing;
  /** The run state may have changed while a probe was out: probe again when it ends. Guarded by this. */
  private boolean probeAgain;
  private int attempt;
  private long retryTimer = -1;
  private long probeTimer = -1;

  VmHandle(Vertx vertx, String name, QmpAddress address, Duration commandTimeout, Consumer<QmpConnection> beforeOpen,
      Consumer<QmpConnection> onFirstReady) {
    this.vertx = vertx;
    this.name = name;
    this.address = address;
    this.beforeOpen = beforeOpen;
    this.onFirstReady = onFirstReady;
    this.reconnect = ReconnectPolicy.FOREVER;
    this.client = QmpClient.create(vertx, QmpClientOptions.of(address).withCommandTimeout(commandTimeout)
        .withReconnect(reconnect));
    this.libvirt = null;
  }

  /** A VM managed by libvirt. */
  VmHandle(Vertx vertx, LibvirtDomain libvirt) {
    this.vertx = vertx;
    this.name = libvirt.vm();
    this.address = null;
    this.beforeOpen = c -> { };
    this.onFirstReady = c -> { };
    this.reconnect = ReconnectPolicy.FOREVER;
    this.client = null;
    this.libvirt = libvirt;
  }

  /** The VM's libvirt domain when libvirt manages it, else null (a QMP VM). */
  public LibvirtDomain libvirt() {
    return libvirt;
  }

  /** How the VM is reached, for humans: its QMP address, or {@code libvirt URI domain NAME}. */
  public String target() {
    return libvirt == null ? address.toString()
        : "libvirt " + libvirt.config().uri() + " domain " + libvirt.config().domain();
  }

  public String name() {
    return name;
  }

  /** The QMP monitor's address; null for a libvirt VM. */
  public QmpAddress address() {
    return address;
  }

  /**
   * The QMP state, or {@link QmpState#CONNECTING} while the first connect is being retried; for a
   * libvirt VM, READY once libvirtd is connected and the domain found.
   */
  public QmpState state() {
    if (libvirt != null) {
      return libvirt.state();
    }
    QmpConnection c = connection;
    return c == null ? (closed ? QmpState.CLOSED : QmpState.CONNECTING) : c.state();
  }

  public String lastError() {
    return libvirt != null ? libvirt.lastError() : lastError;
  }

  /**
   * The connection when it is ready; fails with {@link SidecarException} {@link Kind#UNAVAILABLE}
   * ({@code vm-unavailable}) naming why not.
   */
  public Future<QmpConnection> ready() {
    if (libvirt != null) {
      return Future.failedFuture(SidecarException.of(Kind.CONFLICT, "libvirt-vm-no-qmp", "VM '" + name
          + "' is managed by libvirt: the sidecar does not speak QMP to its QEMU (that would taint the domain"
          + " and make libvirt's view wrong)").vm(name).detail("vm", name)
          .fix("use the device and migration API, which go through libvirt; query passthrough needs"
              + " vms[].libvirt.passthrough: true (see docs/libvirt.md)").build());
    }
    QmpConnection c = connection;
    if (c != null && c.state() == QmpState.READY) {
      return Future.succeededFuture(c);
    }
    String why = c == null ? lastError : "QMP connection to " + address + " is " + c.state().name().toLowerCase();
    return Future.failedFuture(SidecarException.of(Kind.UNAVAILABLE, "vm-unavailable",
        "VM '" + name + "' is not connected: " + why).vm(name).detail("vm", name)
        .fix("the sidecar keeps reconnecting, retry shortly").build());
  }

  /** Starts a libvirt VM; {@code firstReady} is told once its domain is found. */
  void start(Consumer<LibvirtDomain> firstReady) {
    libvirt.start(firstReady);
  }

  void start() {
    if (closed) {
      return;
    }
    client.connect(beforeOpen).onComplete(ar -> {
      if (ar.succeeded()) {
        connection = ar.result();
        attempt = 0;
        probeTimer = vertx.setPeriodic(PROBE_INTERVAL.toMillis(), t -> probe());
        probe();
        onFirstReady.accept(connection);
      } else if (!closed) {
        lastError = ar.cause().getMessage();
        long delay = reconnect.delay(++attempt, ThreadLocalRandom.current().nextDouble()).toMillis();
        if (attempt == 1 || attempt % 10 == 0) {
          LOG.warn("VM {}: {} (retrying every {} ms at most)", name, lastError, reconnect.maxDelay().toMillis());
        }
        retryTimer = vertx.setTimer(delay, t -> start());
      }
    });
  }

  /**
   * Why QEMU, connected, is not answering: its last liveness probe got no answer within
   * {@link #PROBE_TIMEOUT} (QEMU hung, or its process stopped); empty while it answers.
   */
  public Optional<String> unresponsive() {
    return Optional.ofNullable(unresponsive);
  }

  /**
   * QEMU's run state ({@code running}, {@code paused}, {@code inmigrate}, ...) as last read: at
   * connect, every {@link #PROBE_INTERVAL}, and after each event that changes it; empty before
   * the first read (and always for a libvirt VM).
   */
  public Optional<String> runState() {
    return Optional.ofNullable(runState);
  }

  /**
   * Marks the connected QEMU as being replaced by a live update (or no longer): its events from
   * now on (the STOP of the switchover, the SHUTDOWN of its quit) are the old process's, not the
   * VM's, and the event stream publishes them as {@code liveupdate.old-qemu-event}.
   */
  public void retiring(boolean value) {
    retiring = value;
  }

  /** Whether a live update is replacing the connected QEMU. */
  public boolean retiring() {
    return retiring;
  }

  /** QEMU sent an event that may have changed its run state: read it again now. */
  void runStateMayHaveChanged() {
    probe();
  }

  /** A cheap command now and then tells a QEMU that answers from one that hangs with its socket open. */
  private void probe() {
    QmpConnection c = connection;
    if (c == null || c.state() != QmpState.READY) {
      return;
    }
    synchronized (this) {
      if (probing) {
        probeAgain = true;
        return;
      }
      probing = true;
    }
    c.execute(QmpCommands.queryStatus(), PROBE_TIMEOUT).onComplete(ar -> {
      boolean again;
      synchronized (this) {
        probing = false;
        again = probeAgain;
        probeAgain = false;
      }
      if (again) {
        probe();
      }
      if (ar.succeeded()) {
        unresponsive = null;
        runState = ar.result().status();
      } else if (ar.cause() instanceof QmpTimeoutException) {
        unresponsive = "QEMU did not answer a query-status within " + PROBE_TIMEOUT.toMillis()
            + " ms: it hangs or its process is stopped";
      }
    });
  }

  Future<Void> close() {
    closed = true;
    if (libvirt != null) {
      libvirt.close();
      return Future.succeededFuture();
    }
    vertx.cancelTimer(retryTimer);
    vertx.cancelTimer(probeTimer);
    return client.close();
  }
}
