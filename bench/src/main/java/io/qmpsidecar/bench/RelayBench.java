package io.qmpsidecar.bench;

import io.qmpsidecar.relay.AuthorizationDecision;
import io.qmpsidecar.relay.DeviceAttachParams;
import io.qmpsidecar.relay.DeviceDetachParams;
import io.qmpsidecar.relay.DeviceInfo;
import io.qmpsidecar.relay.DpuEndpoint;
import io.qmpsidecar.relay.DpuEndpointOptions;
import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.OpAccepted;
import io.qmpsidecar.relay.OpEnd;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayHost;
import io.qmpsidecar.relay.RelayHostOptions;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayTls;
import io.qmpsidecar.relay.RequestExecutor;
import io.qmpsidecar.relay.StateSnapshot;
import io.qmpsidecar.relay.UnfinishedOp;
import io.qmpsidecar.relay.VmInfo;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The relay on loopback, plain and TLS: acked notifications per second host to DPU with the
 * durable store on (fsync per group commit), and the round trip of a DPU request. Each figure is
 * printed next to a raw WebSocket baseline over the same transport with messages of the same
 * sizes (the DPU side acks every 256 messages, as the relay's DPU end does; counts are multiples of
 * 256 so the last message is acked), measured in the same run. Needs {@code openssl} to make the TLS certificates.
 */
public final class RelayBench {

  private static final int NOTIFICATIONS = 102_400;
  private static final int WARMUP_NOTIFICATIONS = 20_480;
  private static final int ROUND_TRIPS = 20_000;
  private static final int WARMUP_ROUND_TRIPS = 3_000;
  private static final int WINDOW = 20_000;
  private static final int ACK_EVERY = 256;
  private static final long TIMEOUT_S = 120;

  private static final String NOTIFICATION_TEXT =
      "{\"jsonrpc\":\"2.0\",\"method\":\"vm.lifecycle\",\"params\":{\"seq\":100001,\"vm\":\"vm1\",\"event\":\"E100001\"}}";
  private static final String REQUEST_TEXT = "{\"jsonrpc\":\"2.0\",\"id\":12345,\"method\":\"vm.list\",\"params\":{}}";
  private static final String RESPONSE_TEXT =
      "{\"jsonrpc\":\"2.0\",\"id\":12345,\"result\":{\"vms\":[{\"name\":\"vm1\",\"status\":\"running\"}]}}";

  private record Figures(double perSecond, long p50Micros, long p99Micros) {}

  private RelayBench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("relay-bench");
    Vertx vertx = Vertx.vertx();
    try {
      BenchCerts certs = BenchCerts.make(dir);
      System.out.printf("relay-bridge on loopback: %d notifications (~%d B), %d request round trips (vm.list);"
          + " relay store durable (WAL, fsync per group commit)%n", NOTIFICATIONS, NOTIFICATION_TEXT.length(), ROUND_TRIPS);
      System.out.printf("%-6s %-32s %14s %18s %8s%n", "link", "measure", "relay", "raw ws baseline", "ratio");
      for (boolean tls : new boolean[] {false, true}) {
        Figures raw = rawWebSocket(vertx, tls ? certs : null);
        Figures relay = relay(vertx, tls ? certs : null, dir.resolve((tls ? "tls" : "plain") + ".db"));
        String link = tls ? "mTLS" : "plain";
        row(link, "acked notifications/s", relay.perSecond(), raw.perSecond());
        row(link, "request round trip p50 (us)", relay.p50Micros(), raw.p50Micros());
        row(link, "request round trip p99 (us)", relay.p99Micros(), raw.p99Micros());
      }
      System.out.println("target: >= 20000 acked notifications/s with the durable store, p99 round trip < 2000 us");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void row(String link, String measure, double relay, double raw) {
    System.out.printf("%-6s %-32s %14.0f %18.0f %8.2f%n", link, measure, relay, raw, relay / raw);
  }

  private static Figures relay(Vertx vertx, BenchCerts certs, Path store) throws Exception {
    DpuEndpointOptions dpuOptions = DpuEndpointOptions.defaults().withAckEvery(ACK_EVERY);
    if (certs != null) {
      dpuOptions = dpuOptions.withTls(certs.dpu);
    }
    DpuEndpoint dpu = await(DpuEndpoint.listen(vertx, dpuOptions));
    RelayHostOptions hostOptions = RelayHostOptions.of("127.0.0.1", dpu.actualPort(), "bench-host", store)
        .withTls(certs == null ? null : certs.host);
    RelayHost host = await(RelayHost.start(vertx, hostOptions, new OneVm(),
        (caller, method, params) -> AuthorizationDecision.allow("bench")));
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
      while (!dpu.connectedHosts().contains("bench-host")) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the relay host did not connect within " + TIMEOUT_S + " s");
        }
        Thread.sleep(5);
      }
      long[] target = new long[1];
      CountDownLatch[] done = new CountDownLatch[1];
      dpu.notificationHandler(n -> {
        if (n.seq() == target[0]) {
          done[0].countDown();
        }
      });
      long seq = 0;
      double perSecond = 0;
      for (int count : new int[] {WARMUP_NOTIFICATIONS, NOTIFICATIONS}) {
        target[0] = seq + count;
        done[0] = new CountDownLatch(1);
        long start = System.nanoTime();
        Semaphore window = new Semaphore(WINDOW);
        for (int i = 0; i < count; i++) {
          window.acquire();
          host.notify(Notification.vmLifecycle("vm1", "E" + i)).onComplete(ar -> window.release());
        }
        if (!done[0].await(TIMEOUT_S, TimeUnit.SECONDS)) {
          throw new IllegalStateException("the DPU did not receive " + count + " notifications in " + TIMEOUT_S + " s");
        }
        perSecond = count / ((System.nanoTime() - start) / 1e9);
        seq += count;
      }
      long[] micros = roundTrips(() -> dpu.request("bench-host", RelayMethods.VM_LIST, Map.of()).mapEmpty());
      return new Figures(perSecond, percentile(micros, 50), percentile(micros, 99));
    } finally {
      await(host.close());
      await(dpu.close());
    }
  }

  private static Figures rawWebSocket(Vertx vertx, BenchCerts certs) throws Exception {
    HttpServerOptions serverOptions = new HttpServerOptions().setHost("127.0.0.1").setPort(0).setTcpNoDelay(true);
    WebSocketClientOptions clientOptions = new WebSocketClientOptions().setTcpNoDelay(true);
    if (certs != null) {
      serverOptions.setSsl(true).setClientAuth(ClientAuth.REQUIRED).setKeyCertOptions(pem(certs.dpu))
          .setTrustOptions(new PemTrustOptions().addCertPath(certs.dpu.trustedCa().toString()));
      clientOptions.setSsl(true).setKeyCertOptions(pem(certs.host))
          .setTrustOptions(new PemTrustOptions().addCertPath(certs.host.trustedCa().toString()));
    }
    HttpServer server = vertx.createHttpServer(serverOptions).webSocketHandler(ws -> {
      long[] received = new long[1];
      ws.textMessageHandler(text -> {
        if (text.contains("\"id\"")) {
          ws.writeTextMessage(RESPONSE_TEXT);
        } else if (++received[0] % ACK_EVERY == 0) {
          ws.writeTextMessage("{\"jsonrpc\":\"2.0\",\"method\":\"relay.ack\",\"params\":{\"seq\":" + received[0] + "}}");
        }
      });
    });
    await(server.listen());
    WebSocketClient client = vertx.createWebSocketClient(clientOptions);
    try {
      WebSocket ws = await(client.connect(server.actualPort(), "127.0.0.1", "/"));
      long[] acked = new long[1];
      Promise<?>[] waiting = new Promise<?>[1];
      long[] target = new long[1];
      ws.textMessageHandler(text -> {
        if (text.contains("relay.ack")) {
          acked[0] = Long.parseLong(text.substring(text.indexOf("\"seq\":") + 6, text.indexOf('}')));
          if (acked[0] >= target[0] && waiting[0] != null) {
            waiting[0].tryComplete();
          }
        } else if (waiting[0] != null) {
          waiting[0].tryComplete();
        }
      });
      double perSecond = 0;
      long sent = 0;
      for (int count : new int[] {WARMUP_NOTIFICATIONS, NOTIFICATIONS}) {
        target[0] = sent + count;
        Promise<Void> all = Promise.promise();
        waiting[0] = all;
        long start = System.nanoTime();
        vertx.runOnContext(v -> pump(ws, count));
        await(all.future());
        perSecond = count / ((System.nanoTime() - start) / 1e9);
        sent += count;
      }
      long[] micros = roundTrips(() -> {
        Promise<Void> reply = Promise.promise();
        waiting[0] = reply;
        ws.writeTextMessage(REQUEST_TEXT);
        return reply.future();
      });
      return new Figures(perSecond, percentile(micros, 50), percentile(micros, 99));
    } finally {
      await(client.close());
      await(server.close());
    }
  }

  /** Writes {@code remaining} notification-sized messages, pausing while the socket's queue is full. */
  private static void pump(WebSocket ws, int remaining) {
    int left = remaining;
    while (left > 0 && !ws.writeQueueFull()) {
      ws.writeTextMessage(NOTIFICATION_TEXT);
      left--;
    }
    if (left > 0) {
      int rest = left;
      ws.drainHandler(v -> pump(ws, rest));
    }
  }

  private interface RoundTrip {
    Future<Void> run();
  }

  private static long[] roundTrips(RoundTrip trip) throws Exception {
    for (int i = 0; i < WARMUP_ROUND_TRIPS; i++) {
      await(trip.run());
    }
    long[] micros = new long[ROUND_TRIPS];
    for (int i = 0; i < ROUND_TRIPS; i++) {
      long start = System.nanoTime();
      await(trip.run());
      micros[i] = (System.nanoTime() - start) / 1000;
    }
    return micros;
  }

  private static long percentile(long[] values, int p) {
    long[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }

  private static PemKeyCertOptions pem(RelayTls tls) {
    return new PemKeyCertOptions().setCertPath(tls.certificate().toString()).setKeyPath(tls.privateKey().toString());
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(TIMEOUT_S, TimeUnit.SECONDS);
  }

  /** A sidecar that serves one VM and accepts everything. */
  private static final class OneVm implements RequestExecutor {
    @Override
    public Future<OpAccepted> attach(DeviceAttachParams r) {
      return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
    }

    @Override
    public Future<OpAccepted> detach(DeviceDetachParams r) {
      return Future.succeededFuture(new OpAccepted(r.opId(), r.vm(), r.deviceId()));
    }

    @Override
    public Future<List<DeviceInfo>> listDevices(String vm) {
      return Future.succeededFuture(List.of());
    }

    @Override
    public Future<List<VmInfo>> listVms() {
      return Future.succeededFuture(List.of(new VmInfo("vm1", "running", VmInfo.CONNECTED)));
    }

    @Override
    public Future<StateSnapshot> snapshot() {
      return Future.succeededFuture(new StateSnapshot(List.of(), List.of()));
    }

    /** Keeps nothing across restarts: an operation cut short ends as interrupted. */
    @Override
    public Future<OpEnd> resume(UnfinishedOp op) {
      return Future.succeededFuture(OpEnd.failed(RelayError.of(ErrorCode.OP_INTERRUPTED, op.opId() + " was cut short")));
    }
  }
}
