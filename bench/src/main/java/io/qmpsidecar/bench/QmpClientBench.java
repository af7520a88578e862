package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * qmp-client against a raw socket client ({@link RawQmpClient}) on one real QEMU in qtest mode:
 * sequential query-status round trip p50/p99; pipelined throughput with 8 in flight on both
 * sides (the raw floor); and the limit: the raw client writing all {@value #PIPELINED} commands at
 * once ({@link RawQmpClient#allAtOnce}) against qmp-client given all of them at once, pipelining
 * them as far as its default options let it. Both clients run in alternating rounds against the
 * same QEMU, in two CPU placements: QEMU and the client pinned to CPU 0 (this process re-runs
 * itself under taskset), and free. Only ratios within one placement are comparable. With the
 * sequential round trips, each client's own cost: the CPU time of the thread that runs it (the
 * raw client's, qmp-client's event loop) and what that thread allocates, per round trip; and the
 * CPU time QEMU's threads spent meanwhile, per round trip.
 */
public final class QmpClientBench {
  private static final int ROUNDS = 3;
  private static final int SEQUENTIAL = 4_000;
  private static final int PIPELINED = 20_000;
  private static final int WINDOW = 8;
  private static final boolean NATIVE = Boolean.parseBoolean(System.getProperty("bench.native", "true"));
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private QmpClientBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("--placement")) {
      run(args[1]);
      return;
    }
    for (String placement : List.of("pinned", "free")) {
      List<String> cmd = new ArrayList<>();
      if (placement.equals("pinned")) {
        cmd.addAll(List.of("taskset", "-c", "0"));
      }
      cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
          "-Dqemu.binaries.file=" + System.getProperty("qemu.binaries.file", ".qemu/binaries"),
          "-Dbench.native=" + NATIVE,
          "-cp", System.getProperty("java.class.path"), QmpClientBench.class.getName(), "--placement", placement));
      Process p = new ProcessBuilder(cmd).inheritIO().start();
      if (!p.waitFor(8, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("benchmark run '" + placement + "' did not finish in 8 minutes");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("benchmark run '" + placement + "' failed: see its output above");
      }
    }
  }

  private static void run(String placement) throws Exception {
    for (QemuBinary binary : QemuBinaries.all()) {
      Path dir = Files.createTempDirectory("qmp-bench");
      // Under taskset the QEMU child inherits this process's CPU affinity.
      // A QMP monitor serves one client at a time: the raw client gets a second one.
      Path rawSocket = dir.resolve("raw.qmp");
      try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "bench", 1,
          "-chardev", "socket,id=raw,path=" + rawSocket + ",server=on,wait=off", "-mon", "chardev=raw,mode=control")) {
        Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(NATIVE));
        try {
          measure(placement, binary, qemu, rawSocket, vertx);
        } finally {
          vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
      }
    }
  }

  private static void measure(String placement, QemuBinary binary, QemuProcess qemu, Path socket, Vertx vertx)
      throws Exception {
    // All commands of a round may be queued at once; each one's timeout counts from then.
    QmpClientOptions options = QmpClientOptions.of(qemu.qmpAddress())
        .withMaxQueuedCommands(PIPELINED)
        .withCommandTimeout(Duration.ofMinutes(2));
    // Created on a context of its own, so that the benchmark can give it commands from there.
    Context context = vertx.getOrCreateContext();
    Promise<QmpClient> created = Promise.promise();
    Promise<QmpConnection> connected = Promise.promise();
    context.runOnContext(v -> {
      QmpClient client = QmpClient.create(vertx, options);
      created.complete(client);
      client.connect().onComplete(connected);
    });
    QmpClient client = get(created.future());
    QmpConnection c = get(connected.future());
    Promise<Long> loopThread = Promise.promise();
    context.runOnContext(v -> loopThread.complete(Thread.currentThread().getId()));
    long loop = get(loopThread.future());
    long self = Thread.currentThread().getId();
    List<Double> rawP50 = new ArrayList<>();
    List<Double> rawP99 = new ArrayList<>();
    List<Double> rawTput = new ArrayList<>();
    List<Double> cliP50 = new ArrayList<>();
    List<Double> cliP99 = new ArrayList<>();
    List<Double> cliTput = new ArrayList<>();
    List<Double> rawLimit = new ArrayList<>();
    List<Double> cliAll = new ArrayList<>();
    List<Double> rawCpu = new ArrayList<>();
    List<Double> cliCpu = new ArrayList<>();
    List<Double> rawAlloc = new ArrayList<>();
    List<Double> cliAlloc = new ArrayList<>();
    List<Double> rawQemu = new ArrayList<>();
    List<Double> cliQemu = new ArrayList<>();
    try (RawQmpClient raw = new RawQmpClient(socket)) {
      for (int i = 0; i < SEQUENTIAL; i++) {
        raw.roundTrip();
      }
      get(sequential(c, SEQUENTIAL));
      raw.pipelined(PIPELINED / 4, WINDOW);
      get(pipelined(c, PIPELINED / 4));
      raw.allAtOnce(PIPELINED / 4);
      get(allAtOnce(context, c, PIPELINED / 4));
      for (int round = 0; round < ROUNDS; round++) {
        long[] rawTimes = new long[SEQUENTIAL];
        long[] before = cost(self);
        long qemuBefore = qemuCpu(qemu.pid());
        for (int i = 0; i < SEQUENTIAL; i++) {
          rawTimes[i] = raw.roundTrip();
        }
        rawQemu.add((qemuCpu(qemu.pid()) - qemuBefore) / 1000.0 / SEQUENTIAL);
        perRoundTrip(before, cost(self), rawCpu, rawAlloc);
        rawP50.add(percentile(rawTimes, 50));
        rawP99.add(percentile(rawTimes, 99));
        before = cost(loop);
        qemuBefore = qemuCpu(qemu.pid());
        long[] cliTimes = get(sequential(c, SEQUENTIAL));
        cliQemu.add((qemuCpu(qemu.pid()) - qemuBefore) / 1000.0 / SEQUENTIAL);
        perRoundTrip(before, cost(loop), cliCpu, cliAlloc);
        cliP50.add(percentile(cliTimes, 50));
        cliP99.add(percentile(cliTimes, 99));
        rawTput.add(raw.pipelined(PIPELINED, WINDOW));
        cliTput.add(get(pipelined(c, PIPELINED)));
        rawLimit.add(raw.allAtOnce(PIPELINED));
        cliAll.add(get(allAtOnce(context, c, PIPELINED)));
      }
    }
    get(client.close());
    System.out.printf("%nQEMU %s, CPU placement: %s, Vert.x transport: %s (median of %d alternating rounds)%n",
        binary.version(), placement.equals("pinned") ? "QEMU and client pinned to CPU 0" : "free",
        vertx.isNativeTransportEnabled() ? "epoll" : "JDK NIO", ROUNDS);
    System.out.printf("%-40s %12s %12s %8s %10s%n", "metric", "raw client", "qmp-client", "ratio", "target");
    row("sequential round trip p50 (us)", median(rawP50), median(cliP50), "<= 1.05x");
    row("sequential round trip p99 (us)", median(rawP99), median(cliP99), "");
    row("  client thread's CPU per round trip (us)", median(rawCpu), median(cliCpu), "");
    System.out.printf("%-40s %12.0f %12.0f%n", "  allocated per round trip (bytes)", median(rawAlloc), median(cliAlloc));
    row("  QEMU's CPU per round trip (us)", median(rawQemu), median(cliQemu), "");
    row("pipelined, 8 in flight (cmd/s)", median(rawTput), median(cliTput), ">= 0.95x");
    row("all " + PIPELINED + " at once: the limit (cmd/s)", median(rawLimit), median(cliAll), ">= 0.95x");
  }

  /** Round trips chained on the connection's event loop; resolves with each one's nanoseconds. */
  private static Future<long[]> sequential(QmpConnection c, int count) {
    Promise<long[]> done = Promise.promise();
    long[] times = new long[count];
    step(c, times, 0, done);
    return done.future();
  }

  private static void step(QmpConnection c, long[] times, int i, Promise<long[]> done) {
    if (i == times.length) {
      done.complete(times);
      return;
    }
    long start = System.nanoTime();
    c.queryStatus().onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
        return;
      }
      times[i] = System.nanoTime() - start;
      step(c, times, i + 1, done);
    });
  }

  /** {@code count} query-status with {@link #WINDOW} outstanding; resolves with commands/s. */
  private static Future<Double> pipelined(QmpConnection c, int count) {
    Promise<Double> done = Promise.promise();
    long start = System.nanoTime();
    int[] sent = {0};
    int[] received = {0};
    Runnable[] send = new Runnable[1];
    send[0] = () -> {
      while (sent[0] < count && sent[0] - received[0] < WINDOW) {
        sent[0]++;
        c.queryStatus().onComplete(ar -> {
          if (ar.failed()) {
            done.tryFail(ar.cause());
            return;
          }
          if (++received[0] == count) {
            done.complete(count / ((System.nanoTime() - start) / 1e9));
          } else {
            send[0].run();
          }
        });
      }
    };
    send[0].run();
    return done.future();
  }

  /**
   * {@code count} query-status handed to qmp-client at once from its own context, as an
   * application on the event loop would; it keeps as many in flight as its options allow and
   * queues the rest. Resolves with commands/s.
   */
  private static Future<Double> allAtOnce(Context context, QmpConnection c, int count) {
    Promise<Double> done = Promise.promise();
    context.runOnContext(v -> {
      long start = System.nanoTime();
      int[] received = {0};
      for (int i = 0; i < count; i++) {
        c.queryStatus().onComplete(ar -> {
          if (ar.failed()) {
            done.tryFail(ar.cause());
          } else if (++received[0] == count) {
            done.complete(count / ((System.nanoTime() - start) / 1e9));
          }
        });
      }
    });
    return done.future();
  }

  /** A thread's CPU nanoseconds and allocated bytes so far. */
  private static long[] cost(long thread) {
    return new long[] {THREADS.getThreadCpuTime(thread), THREADS.getThreadAllocatedBytes(thread)};
  }

  /** The nanoseconds all threads of a process have run so far ({@code /proc/PID/task/*\/schedstat}). */
  private static long qemuCpu(long pid) throws IOException {
    long total = 0;
    try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks) {
        try {
          total += Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
        } catch (NoSuchFileException e) {
          // The thread ended between the listing and the read: its time is gone with it.
        }
      }
    }
    return total;
  }

  private static void perRoundTrip(long[] before, long[] after, List<Double> cpuMicros, List<Double> bytes) {
    cpuMicros.add((after[0] - before[0]) / 1000.0 / SEQUENTIAL);
    bytes.add((after[1] - before[1]) / (double) SEQUENTIAL);
  }

  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)] / 1000.0;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }

  private static void row(String metric, double raw, double client, String target) {
    System.out.printf("%-40s %12.1f %12.1f %7.2fx %10s%n", metric, raw, client, client / raw, target);
  }

  private static <T> T get(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.MINUTES);
  }
}
