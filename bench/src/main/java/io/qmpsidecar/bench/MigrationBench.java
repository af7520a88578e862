package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.migration.DeviceSpec;
import io.qmpsidecar.sidecar.migration.MigratingFunction;
import io.qmpsidecar.sidecar.migration.MigrationCoordinator;
import io.qmpsidecar.sidecar.migration.MigrationCoordinatorOptions;
import io.qmpsidecar.sidecar.migration.MigrationDriver;
import io.qmpsidecar.sidecar.migration.MigrationEndpoint;
import io.qmpsidecar.sidecar.migration.MigrationListener;
import io.qmpsidecar.sidecar.migration.MigrationMonitorOptions;
import io.qmpsidecar.sidecar.migration.MigrationRequest;
import io.qmpsidecar.sidecar.migration.MigrationResult;
import io.qmpsidecar.sidecar.migration.Strategy;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Coordination overhead: the same two-QEMU migration (qtest machines, 64 MiB, an e1000e standing
 * in for a DPU function on both ends) driven bare with qmp-client (capabilities, migrate-incoming,
 * migrate, wait for both ends) and through MigrationCoordinator (monitors polling every 50 ms,
 * preflight, strategy {@code vfio-migration} for the function, rollback machinery), in alternating
 * rounds with fresh QEMUs each round and QMP connections opened before the clock starts. Prints
 * medians of total time (first command to both ends completed and the destination running),
 * QEMU's downtime, and the downtime seen from the events (source STOP to destination RESUME).
 */
public final class MigrationBench {
  private static final int ROUNDS = 9;
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final DeviceSpec NIC = new DeviceSpec("fn0", "e1000e", Map.of("bus", "rp1"));

  private MigrationBench() {}

  private record Sample(double totalMs, double qemuDowntimeMs, double observedDowntimeMs) {}

  public static void main(String[] args) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      System.out.println("| QEMU | metric | bare qmp-client | MigrationCoordinator | ratio | added |");
      System.out.println("|---|---|---|---|---|---|");
      for (QemuBinary binary : QemuBinaries.all()) {
        measure(vertx, binary);
      }
    } finally {
      get(vertx.close());
    }
  }

  private static void measure(Vertx vertx, QemuBinary binary) throws Exception {
    List<Sample> bare = new ArrayList<>();
    List<Sample> coordinated = new ArrayList<>();
    for (int round = -1; round < ROUNDS; round++) {
      Sample b = round(vertx, binary, false);
      Sample c = round(vertx, binary, true);
      if (round >= 0) {
        bare.add(b);
        coordinated.add(c);
      }
    }
    print(binary, "total time", median(bare, Sample::totalMs), median(coordinated, Sample::totalMs));
    print(binary, "QEMU downtime", median(bare, Sample::qemuDowntimeMs), median(coordinated, Sample::qemuDowntimeMs));
    print(binary, "STOP->RESUME", median(bare, Sample::observedDowntimeMs), median(coordinated, Sample::observedDowntimeMs));
  }

  private static Sample round(Vertx vertx, QemuBinary binary, boolean coordinated) throws Exception {
    Path dir = Files.createTempDirectory("mig-bench");
    String nic = "e1000e,id=fn0,bus=rp1";
    try (QemuProcess src = QemuProcess.startQtest(binary, dir, "src", 1, "-device", nic);
         QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 1, "-device", nic, "-incoming", "defer")) {
      QmpClient srcClient = QmpClient.create(vertx, QmpClientOptions.of(src.qmpAddress()));
      QmpClient dstClient = QmpClient.create(vertx, QmpClientOptions.of(dst.qmpAddress()));
      try {
        QmpConnection source = connect(srcClient);
        QmpConnection destination = connect(dstClient);
        String uri = "tcp:127.0.0.1:" + freePort();
        return coordinated ? coordinated(vertx, source, destination, uri) : bare(source, destination, uri);
      } finally {
        get(srcClient.close());
        get(dstClient.close());
      }
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Sample bare(QmpConnection source, QmpConnection destination, String uri) throws Exception {
    Promise<QmpEvent> stopped = Promise.promise();
    Promise<QmpEvent> srcDone = Promise.promise();
    Promise<QmpEvent> dstDone = Promise.promise();
    Promise<QmpEvent> resumed = Promise.promise();
    source.subscribe(EventFilter.names("STOP"), stopped::tryComplete);
    source.subscribe(EventFilter.names("MIGRATION").and(e -> "completed".equals(e.text("status"))), srcDone::tryComplete);
    destination.subscribe(EventFilter.names("MIGRATION").and(e -> "completed".equals(e.text("status"))), dstDone::tryComplete);
    destination.subscribe(EventFilter.names("RESUME"), resumed::tryComplete);
    long t0 = System.nanoTime();
    get(source.migrateSetCapabilities(Map.of("events", true))
        .compose(v -> destination.migrateSetCapabilities(Map.of("events", true)))
        .compose(v -> destination.migrateIncoming(uri))
        .compose(v -> source.migrate(uri)));
    get(Future.all(srcDone.future(), dstDone.future(), resumed.future()));
    long t1 = System.nanoTime();
    MigrationInfo info = get(source.queryMigrate());
    return new Sample((t1 - t0) / 1e6, info.downtimeMs(),
        Duration.between(get(stopped.future()).timestamp(), get(resumed.future()).timestamp()).toNanos() / 1e6);
  }

  private static Sample coordinated(Vertx vertx, QmpConnection source, QmpConnection destination, String uri)
      throws Exception {
    MigrationCoordinator coordinator = new MigrationCoordinator(vertx, new MigrationDriver(),
        MigrationCoordinatorOptions.defaults().withMonitor(
            MigrationMonitorOptions.defaults().withPollInterval(Duration.ofMillis(50))),
        MigrationListener.NONE);
    MigratingFunction fn = new MigratingFunction(NIC, Strategy.VFIO_MIGRATION, true);
    long t0 = System.nanoTime();
    MigrationResult r = get(coordinator.start(new MigrationEndpoint("vm1", source, null),
        new MigrationEndpoint("vm1-dst", destination, null), MigrationRequest.to(uri).withFunctions(List.of(fn))).result());
    long t1 = System.nanoTime();
    double observed = r.observedDowntime() == null ? Double.NaN : r.observedDowntime().toNanos() / 1e6;
    return new Sample((t1 - t0) / 1e6, r.source().downtimeMs(), observed);
  }

  private static void print(QemuBinary binary, String metric, double bare, double coordinated) {
    System.out.printf("| %s | %s | %.1f ms | %.1f ms | %.2fx | %+.1f ms |%n", binary.version(), metric, bare,
        coordinated, coordinated / bare, coordinated - bare);
  }

  private static double median(List<Sample> samples, ToDoubleFunction<Sample> f) {
    double[] v = samples.stream().mapToDouble(f).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** QEMU creates its socket file just before it listens: a connect in between is refused, so retry briefly. */
  private static QmpConnection connect(QmpClient client) throws Exception {
    for (int attempt = 1; ; attempt++) {
      try {
        return get(client.connect());
      } catch (ExecutionException e) {
        if (attempt == 5) {
          throw e;
        }
        Thread.sleep(20);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static <T> T get(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }
}
