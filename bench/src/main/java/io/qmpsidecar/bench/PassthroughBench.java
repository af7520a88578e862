package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Passthrough through an in-process sidecar against direct QMP, on one real QEMU in qtest mode.
 * The floor is {@link RawQmpClient} on a second QMP monitor of the same QEMU (a monitor serves
 * one client at a time; the sidecar holds the first). Measured through the sidecar: the same raw
 * client on the VM's QMP proxy socket, and {@link BenchHttpClient} on the API socket
 * ({@code POST /v1/vms/vm1/qmp}), on one connection and on {@value #HTTP_CONNECTIONS}
 * concurrent connections. Every path keeps {@value #WINDOW} query-status in flight in total; the
 * paths run in alternating rounds. Sequential round trips (one in flight) are measured too, and
 * the limit: the raw client writing all {@value #PIPELINED} commands at once
 * ({@link RawQmpClient#allAtOnce}) on the second monitor and on the proxy socket.
 */
public final class PassthroughBench {
  private static final int ROUNDS = 3;
  private static final int SEQUENTIAL = 2_000;
  private static final int PIPELINED = 10_000;
  private static final int WINDOW = 8;
  private static final int HTTP_CONNECTIONS = 4;
  private static final Duration START = Duration.ofSeconds(30);
  private static final byte[] HTTP_QUERY_STATUS = BenchHttpClient.post("/v1/vms/vm1/qmp", "{\"execute\":\"query-status\"}");

  private PassthroughBench() {}

  public static void main(String[] args) throws Exception {
    for (QemuBinary binary : QemuBinaries.all()) {
      run(binary);
    }
  }

  private static void run(QemuBinary binary) throws Exception {
    Path dir = Files.createTempDirectory("passthrough-bench");
    Path direct = dir.resolve("direct.qmp");
    try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "bench", 1,
        "-chardev", "socket,id=direct,path=" + direct + ",server=on,wait=off", "-mon", "chardev=direct,mode=control");
        BenchSidecar sidecar = BenchSidecar.start(dir.resolve("sidecar"), List.of(),
            List.of("vm1=unix:" + qemu.qmpAddress().unixPath()), START)) {
      sidecar.awaitReady(START);
      Path proxy = sidecar.awaitProxy("vm1", START);
      measure(binary, direct, proxy, sidecar.apiSocket);
    }
  }

  private static void measure(QemuBinary binary, Path direct, Path proxy, Path api) throws Exception {
    List<List<Double>> p50 = lists(3);
    List<List<Double>> p99 = lists(3);
    List<List<Double>> tput = lists(6);
    ExecutorService pool = Executors.newFixedThreadPool(HTTP_CONNECTIONS);
    List<BenchHttpClient> conns = new ArrayList<>();
    try (RawQmpClient raw = new RawQmpClient(direct); RawQmpClient viaProxy = new RawQmpClient(proxy);
        BenchHttpClient http = new BenchHttpClient(api)) {
      for (int i = 0; i < HTTP_CONNECTIONS; i++) {
        conns.add(new BenchHttpClient(api));
      }
      for (int round = -1; round < ROUNDS; round++) {
        long[][] seq = new long[3][SEQUENTIAL];
        for (int i = 0; i < SEQUENTIAL; i++) {
          seq[0][i] = raw.roundTrip();
        }
        for (int i = 0; i < SEQUENTIAL; i++) {
          seq[1][i] = viaProxy.roundTrip();
        }
        for (int i = 0; i < SEQUENTIAL; i++) {
          seq[2][i] = http.roundTrip(HTTP_QUERY_STATUS);
        }
        double[] t = {raw.pipelined(PIPELINED, WINDOW), viaProxy.pipelined(PIPELINED, WINDOW),
            http.pipelined(HTTP_QUERY_STATUS, PIPELINED, WINDOW), concurrent(pool, conns),
            raw.allAtOnce(PIPELINED), viaProxy.allAtOnce(PIPELINED)};
        if (round < 0) {
          continue;
        }
        for (int k = 0; k < 3; k++) {
          p50.get(k).add(BenchStats.percentileMicros(seq[k], 50));
          p99.get(k).add(BenchStats.percentileMicros(seq[k], 99));
        }
        for (int k = 0; k < t.length; k++) {
          tput.get(k).add(t[k]);
        }
      }
    } finally {
      for (BenchHttpClient c : conns) {
        c.close();
      }
      pool.shutdownNow();
    }
    System.out.printf("%nQEMU %s, qtest mode, %d in flight when pipelined (median of %d alternating rounds after 1 warm-up)%n",
        binary.version(), WINDOW, ROUNDS);
    System.out.printf("%-40s %-28s %12s %12s %8s %10s%n", "path", "metric", "direct QMP", "sidecar", "ratio", "target");
    String[] paths = {"QMP proxy socket", "HTTP API, 1 connection"};
    for (int k = 0; k < 2; k++) {
      row(paths[k], "round trip p50 (us)", median(p50, 0), median(p50, k + 1), "");
      row(paths[k], "round trip p99 (us)", median(p99, 0), median(p99, k + 1), "");
      row(paths[k], "pipelined (cmd/s)", median(tput, 0), median(tput, k + 1), k == 0 ? ">= 0.90x" : "(serial*)");
      if (k == 0) {
        row(paths[k], "all " + PIPELINED + " at once (cmd/s)", median(tput, 4), median(tput, 5), ">= 0.90x");
      }
    }
    row("HTTP API, " + HTTP_CONNECTIONS + " connections x " + WINDOW / HTTP_CONNECTIONS + " in flight", "pipelined (cmd/s)",
        median(tput, 0), median(tput, 3), ">= 0.90x");
    System.out.println("* HTTP/1.1 serves the pipelined POSTs of one connection one after another, in order"
        + " (RFC 9112 9.3.2): over HTTP, commands run concurrently on several connections (the last row).");
  }

  /** {@value #PIPELINED} requests split over the connections, each pipelining its share of the window. */
  private static double concurrent(ExecutorService pool, List<BenchHttpClient> conns) throws Exception {
    long start = System.nanoTime();
    List<Future<Double>> done = new ArrayList<>();
    for (BenchHttpClient c : conns) {
      done.add(pool.submit(() -> c.pipelined(HTTP_QUERY_STATUS, PIPELINED / conns.size(), WINDOW / conns.size())));
    }
    for (Future<Double> f : done) {
      f.get(2, TimeUnit.MINUTES);
    }
    return PIPELINED / ((System.nanoTime() - start) / 1e9);
  }

  private static List<List<Double>> lists(int n) {
    List<List<Double>> l = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      l.add(new ArrayList<>());
    }
    return l;
  }

  private static double median(List<List<Double>> values, int k) {
    return BenchStats.median(values.get(k));
  }

  private static void row(String path, String metric, double direct, double sidecar, String target) {
    System.out.printf("%-40s %-28s %12.1f %12.1f %7.2fx %10s%n", path, metric, direct, sidecar, sidecar / direct, target);
  }
}
