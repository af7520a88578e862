package io.qmpsidecar.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.EventFilter;
import io.qmpsidecar.qmp.MigrationInfo;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpEvent;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Live update against the migration it replaces: the same guest-less VM (qtest, 512 MiB of
 * shared memfd RAM of which 256 MiB written with a pattern, so a migration has pages to copy)
 * moved to a new QEMU process of the same binary on the same host, once by a plain local
 * migration (bare qmp-client, Unix socket, the destination started with {@code -incoming defer}),
 * once by the sidecar's live update ({@code POST /v1/vms/vm1/live-update}, cpr-transfer: RAM is
 * not copied). Alternating rounds, fresh QEMUs each round; medians of QEMU's downtime and of the
 * whole operation as its caller waits for it.
 */
public final class LiveUpdateBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ROUNDS = 5;
  private static final Duration WAIT = Duration.ofSeconds(60);
  private LiveUpdateBench() {}

  private record Sample(double totalMs, double downtimeMs) {}

  public static void main(String[] args) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      System.out.println("| QEMU | metric | local migration | live update | ratio |");
      System.out.println("|---|---|---|---|---|");
      for (QemuBinary binary : QemuBinaries.all()) {
        if (binary.major() >= 10) {
          measure(vertx, binary);
        }
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
  }

  private static void measure(Vertx vertx, QemuBinary binary) throws Exception {
    List<Sample> migration = new ArrayList<>();
    List<Sample> update = new ArrayList<>();
    for (int round = -1; round < ROUNDS; round++) {
      Sample m = inTempDir(dir -> migration(vertx, binary, dir));
      Sample u = inTempDir(dir -> liveUpdate(binary, dir));
      if (round >= 0) {
        migration.add(m);
        update.add(u);
      }
    }
    print(binary, "QEMU downtime", median(migration, Sample::downtimeMs), median(update, Sample::downtimeMs));
    print(binary, "whole operation", median(migration, Sample::totalMs), median(update, Sample::totalMs));
  }

  private static String[] cprReady() {
    return new String[] {"-m", "512", "-object", "memory-backend-memfd,id=ram0,size=512M,share=on",
        "-machine", "memory-backend=ram0,aux-ram-share=on"};
  }

  /** Writes 256 MiB of RAM from 16 MiB on with a non-zero byte, through qtest. */
  private static void dirty(Path qtest) throws Exception {
    try (SocketChannel ch = connect(qtest)) {
      Writer out = new OutputStreamWriter(Channels.newOutputStream(ch), StandardCharsets.US_ASCII);
      BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.US_ASCII));
      out.write("memset 0x1000000 0x10000000 0x5a\n");
      out.flush();
      String answer = in.readLine();
      if (!"OK".equals(answer)) {
        throw new IllegalStateException("qtest memset answered " + answer);
      }
    }
  }

  /** QEMU opens its qtest socket after its monitor (which is what QemuProcess waits for): retry briefly. */
  private static SocketChannel connect(Path socket) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (true) {
      SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
      try {
        ch.connect(UnixDomainSocketAddress.of(socket));
        return ch;
      } catch (java.io.IOException e) {
        ch.close();
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(10);
      }
    }
  }

  private static Sample migration(Vertx vertx, QemuBinary binary, Path dir) throws Exception {
    List<String> dstArgs = new ArrayList<>(List.of(cprReady()));
    dstArgs.addAll(List.of("-incoming", "defer"));
    try (QemuProcess src = QemuProcess.startQtest(binary, dir, "src", 1, cprReady());
         QemuProcess dst = QemuProcess.startQtest(binary, dir, "dst", 1, dstArgs.toArray(new String[0]))) {
      dirty(dir.resolve("src.qtest"));
      QmpClient srcClient = QmpClient.create(vertx, QmpClientOptions.of(src.qmpAddress()));
      QmpClient dstClient = QmpClient.create(vertx, QmpClientOptions.of(dst.qmpAddress()));
      try {
        QmpConnection source = get(srcClient.connect());
        QmpConnection destination = get(dstClient.connect());
        Promise<QmpEvent> resumed = Promise.promise();
        Promise<QmpEvent> srcDone = Promise.promise();
        source.subscribe(EventFilter.names("MIGRATION").and(e -> "completed".equals(e.text("status"))),
            srcDone::tryComplete);
        destination.subscribe(EventFilter.names("RESUME"), resumed::tryComplete);
        String uri = "unix:" + dir.resolve("migration.sock");
        long t0 = System.nanoTime();
        get(source.migrateSetCapabilities(Map.of("events", true))
            .compose(v -> destination.migrateIncoming(uri))
            .compose(v -> source.migrate(uri)));
        get(Future.all(srcDone.future(), resumed.future()));
        long t1 = System.nanoTime();
        MigrationInfo info = get(source.queryMigrate());
        return new Sample((t1 - t0) / 1e6, info.downtimeMs());
      } finally {
        get(srcClient.close());
        get(dstClient.close());
      }
    }
  }

  private static Sample liveUpdate(QemuBinary binary, Path dir) throws Exception {
    long newPid = -1;
    try (QemuProcess vm = QemuProcess.startQtest(binary, dir, "vm1", 1, cprReady())) {
      dirty(dir.resolve("vm1.qtest"));
      try (BenchSidecar sidecar = BenchSidecar.start(dir.resolve("sidecar"),
          List.of("liveUpdate.binaries=" + binary.path()), List.of("vm1=" + vm.qmpAddress()), WAIT, rule())) {
        sidecar.awaitReady(WAIT);
        long t0 = System.nanoTime();
        String body;
        try (BenchHttpClient http = new BenchHttpClient(sidecar.apiSocket)) {
          body = http.body(BenchHttpClient.post("/v1/vms/vm1/live-update",
              JSON.createObjectNode().put("qemu", binary.path().toString()).toString()));
        }
        long t1 = System.nanoTime();
        JsonNode r = JSON.readTree(body);
        newPid = r.path("newPid").asLong(-1);
        return new Sample((t1 - t0) / 1e6, r.path("downtimeMs").asDouble());
      }
    } finally {
      if (newPid > 0) {
        ProcessHandle.of(newPid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /** The policy rule docs/live-update.md gives for the API's Unix socket (bench/run runs from the checkout). */
  private static String rule() throws java.io.IOException {
    return Files.readString(Path.of("docs/live-update.md"))
        .replaceAll("(?s).*```yaml\n(  - id: live-update-local.*?)```.*", "$1");
  }

  private interface InDir {
    Sample run(Path dir) throws Exception;
  }

  private static Sample inTempDir(InDir work) throws Exception {
    Path dir = Files.createTempDirectory("lu-bench");
    try {
      return work.run(dir);
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void print(QemuBinary binary, String metric, double migration, double update) {
    System.out.printf("| %s | %s | %.1f ms | %.1f ms | %.2fx |%n", binary.version(), metric, migration, update,
        update / migration);
  }

  private static double median(List<Sample> samples, ToDoubleFunction<Sample> f) {
    double[] v = samples.stream().mapToDouble(f).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private static <T> T get(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
  }
}
