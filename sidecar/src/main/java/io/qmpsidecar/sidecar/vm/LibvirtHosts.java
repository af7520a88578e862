package io.qmpsidecar.sidecar.vm;

import io.qmpsidecar.libvirt.LibvirtClient;
import io.qmpsidecar.libvirt.LibvirtClientOptions;
import io.qmpsidecar.qmp.ReconnectPolicy;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link LibvirtClient} per libvirt URI, shared by every VM of that URI. The first connect is
 * retried with the QMP connections' backoff until it succeeds (libvirtd may start after the
 * sidecar); after that the client reconnects by itself. Raw QMP events are asked for
 * ({@code virConnectDomainQemuMonitorEventRegister}: read-only, it does not taint a domain).
 */
public final class LibvirtHosts {
  private static final Logger LOG = LoggerFactory.getLogger(LibvirtHosts.class);

  private final Vertx vertx;
  private final Duration callTimeout;
  private final Map<String, Promise<LibvirtClient>> clients = new ConcurrentHashMap<>();
  private final Map<String, String> lastErrors = new ConcurrentHashMap<>();
  private final List<Long> timers = new ArrayList<>();
  private volatile boolean closed;

  public LibvirtHosts(Vertx vertx, Duration callTimeout) {
    this.vertx = vertx;
    this.callTimeout = callTimeout;
  }

  /** The connected client of {@code uri}: completes once its first connection is open. */
  public Future<LibvirtClient> client(String uri) {
    return clients.computeIfAbsent(uri, u -> {
      Promise<LibvirtClient> p = Promise.promise();
      connect(u, p, 1);
      return p;
    }).future();
  }

  /** Why the first connection to {@code uri} has not opened yet, or null. */
  String lastError(String uri) {
    return lastErrors.get(uri);
  }

  private void connect(String uri, Promise<LibvirtClient> result, int attempt) {
    if (closed) {
      result.tryFail("the sidecar is stopping");
      return;
    }
    LibvirtClientOptions options = LibvirtClientOptions.of(uri).withCallTimeout(callTimeout).withQemuMonitorEvents(true);
    Future.fromCompletionStage(LibvirtClient.connect(options), vertx.getOrCreateContext()).onComplete(ar -> {
      if (ar.succeeded()) {
        lastErrors.remove(uri);
        if (closed || !result.tryComplete(ar.result())) {
          ar.result().close();
        }
        return;
      }
      String why = ar.cause().getMessage();
      lastErrors.put(uri, why);
      long delay = ReconnectPolicy.FOREVER.delay(attempt, ThreadLocalRandom.current().nextDouble()).toMillis();
      if (attempt == 1 || attempt % 10 == 0) {
        LOG.warn("libvirt {}: {} (retrying every {} ms at most)", uri, why, ReconnectPolicy.FOREVER.maxDelay().toMillis());
      }
      synchronized (timers) {
        timers.add(vertx.setTimer(delay, t -> connect(uri, result, attempt + 1)));
      }
    });
  }

  /** Closes every client. */
  public Future<Void> close() {
    closed = true;
    synchronized (timers) {
      timers.forEach(vertx::cancelTimer);
    }
    List<Future<Void>> closing = new ArrayList<>();
    clients.values().forEach(p -> p.future().onSuccess(c -> closing.add(Future.fromCompletionStage(c.close()))));
    clients.values().forEach(p -> p.tryFail("the sidecar is stopping"));
    return Future.join(closing).mapEmpty();
  }
}
