package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.sidecar.events.EventListener;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One sidecar serving many VMs through {@code vmSocketDir}. The sidecar runs in a child JVM
 * started with the launcher's JVM profile for this mode ({@code bin/jvm/host}, chosen with
 * {@code QMP_SIDECAR_JVM=host}; {@code -Dbench.jvm=OPT,OPT,...} replaces it for an experiment),
 * so its memory is the daemon's as shipped.
 * It starts on an empty directory (its fixed cost), then the VMs' sockets appear in it at once
 * (symbolic links to sockets that already listen) and the benchmark times until every VM's
 * proxy socket exists and {@code /readyz} answers 200; memory per VM is the growth of RSS and of
 * heap after a full GC, divided by the VM count.
 * <ul>
 *   <li>{@value #SIMULATED} simulated endpoints ({@link SimQmpServers}, a QMP protocol simulator
 *       in another process, not QEMU): connect time, memory per VM, then events offered
 *       across all of them for {@value #EMIT_SECONDS} s at each rate of {@code bench.offered}
 *       (50,000/s, the target's fan-in, then 100,000/s), counted as the
 *       sidecar's event stream delivers them to a subscriber, while one client sends
 *       sequential {@code query-status} through {@code POST /v1/vms/NAME/qmp} round-robin over
 *       the VMs; its latency idle is the baseline.</li>
 *   <li>{@value #REAL} real QEMUs in qtest mode: connect time and memory per VM.</li>
 * </ul>
 */
public final class ScaleBench {
  private static final int SIMULATED = Integer.getInteger("bench.simulated", 1000);
  private static final int REAL = Integer.getInteger("bench.real", 50);
  /** Event rates offered in turn, each for {@value #EMIT_SECONDS} s: the target's fan-in, then twice it. */
  private static final int[] OFFERED = Arrays.stream(System.getProperty("bench.offered", "50000,100000").split(","))
      .mapToInt(Integer::parseInt).toArray();
  private static final int EMIT_SECONDS = 10;
  private static final int IDLE_SECONDS = 3;
  private static final Duration READY = Duration.ofSeconds(90);

  private ScaleBench() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 2 && args[0].equals("--measure")) {
      measure(args[1]);
      return;
    }
    String override = System.getProperty("bench.jvm", "");
    List<String> jvm = override.isBlank() ? jvmProfile(Path.of("bin/jvm/host")) : List.of(override.trim().split(","));
    for (String kind : System.getProperty("bench.kinds", "simulated,qemu").split(",")) {
      List<String> cmd = new ArrayList<>();
      cmd.add(javaBin());
      cmd.addAll(jvm);
      String profile = System.getProperty("bench.profile", "");
      if (!profile.isEmpty()) {
        cmd.add("-XX:StartFlightRecording=filename=" + Path.of(profile, "ScaleBench-" + kind + ".jfr") + ",settings=profile");
      }
      cmd.addAll(List.of("-Dqemu.binaries.file=" + System.getProperty("qemu.binaries.file", ".qemu/binaries"),
          "-Dbench.simulated=" + SIMULATED, "-Dbench.real=" + REAL, "-Dbench.offered=" + Arrays.stream(OFFERED).mapToObj(Integer::toString).collect(Collectors.joining(",")),
          "-cp", System.getProperty("java.class.path"), ScaleBench.class.getName(), "--measure", kind));
      System.out.println("sidecar JVM options (" + (override.isBlank() ? "bin/jvm/host, QMP_SIDECAR_JVM=host" : "-Dbench.jvm")
          + "): " + String.join(" ", jvm));
      Process p = new ProcessBuilder(cmd).inheritIO().start();
      if (!p.waitFor(4, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        throw new IllegalStateException("the " + kind + " run did not finish in 4 minutes");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("the " + kind + " run failed: see its output above");
      }
    }
  }

  /** The options of a launcher JVM profile ({@code QMP_SIDECAR_JVM}), so that the figures follow it. */
  static List<String> jvmProfile(Path profile) throws IOException {
    return Files.readAllLines(profile).stream().map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#"))
        .toList();
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static void measure(String kind) throws Exception {
    Path dir = Files.createTempDirectory("scale-bench");
    Path vms = Files.createDirectory(dir.resolve("vms"));
    Path sockets = Files.createDirectory(dir.resolve("sockets"));
    List<QemuProcess> qemus = new ArrayList<>();
    try (BenchSidecar sidecar = BenchSidecar.start(dir.resolve("sidecar"), List.of("vmSocketDir=" + vms),
        List.of(), READY)) {
      sidecar.awaitReady(READY);
      Memory fixed = Memory.now();
      if (kind.equals("simulated")) {
        simulated(sidecar, sockets, vms, fixed);
      } else {
        real(sidecar, sockets, vms, fixed, qemus);
      }
    } finally {
      qemus.forEach(QemuProcess::close);
    }
  }

  private static void simulated(BenchSidecar sidecar, Path sockets, Path vms, Memory fixed) throws Exception {
    Process sim = new ProcessBuilder(javaBin(), "-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        SimQmpServers.class.getName(), sockets.toString(), Integer.toString(SIMULATED))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    // Every read from the simulator below ends, at the latest, when this bound kills it.
    CompletableFuture.runAsync(sim::destroyForcibly,
        CompletableFuture.delayedExecutor(IDLE_SECONDS + (EMIT_SECONDS + 60L) * OFFERED.length + 60, TimeUnit.SECONDS));
    try (BufferedReader out = new BufferedReader(new InputStreamReader(sim.getInputStream(), StandardCharsets.UTF_8));
        PrintWriter in = new PrintWriter(sim.getOutputStream(), true, StandardCharsets.UTF_8)) {
      expect(out, "listening");
      double connectMs = appear(sidecar, sockets, vms, SIMULATED);
      Memory loaded = Memory.now();
      List<String> names = names(vms);

      AtomicLong received = new AtomicLong();
      AtomicLong dropped = new AtomicLong();
      AtomicLong lastEvent = new AtomicLong();
      sidecar.sidecar.events().subscribe(e -> e.type().equals("qmp.RTC_CHANGE"), 4096,
          new EventListener() {
            @Override
            public void onEvent(SidecarEvent e) {
              received.incrementAndGet();
              lastEvent.set(System.nanoTime());
            }

            @Override
            public void onDropped(long count) {
              dropped.set(count);
            }
          });
      long[] idle = latencies(sidecar.apiSocket, names, IDLE_SECONDS, new AtomicBoolean(true));
      List<String> phases = new ArrayList<>();
      for (int rate : OFFERED) {
        long receivedBefore = received.get();
        long droppedBefore = dropped.get();
        AtomicBoolean emitting = new AtomicBoolean(true);
        long[][] busy = new long[1][];
        Thread client = new Thread(() -> {
          try {
            busy[0] = latencies(sidecar.apiSocket, names, EMIT_SECONDS + 5, emitting);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        long start = System.nanoTime();
        client.start();
        in.println("emit " + rate + " " + EMIT_SECONDS);
        long sent = Long.parseLong(expect(out, "sent").split(" ")[1]);
        double emitSeconds = (System.nanoTime() - start) / 1e9;
        emitting.set(false);
        client.join(TimeUnit.SECONDS.toMillis(EMIT_SECONDS + 30));
        long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (received.get() - receivedBefore + dropped.get() - droppedBefore < sent && System.nanoTime() < drainDeadline) {
          Thread.sleep(20);
        }
        long got = received.get() - receivedBefore;
        long lost = dropped.get() - droppedBefore;
        double fannedSeconds = Math.max(emitSeconds, (lastEvent.get() - start) / 1e9);
        String at = String.format(" (%,d/s offered)", rate);
        phases.add(String.join("\n",
            rowText("events offered by the endpoints" + at, String.format("%.0f /s", sent / emitSeconds), "", ""),
            rowText("events fanned in to the event stream" + at, String.format("%.0f /s", (got + lost) / fannedSeconds),
                ">= 50,000 /s", "published: delivered to the subscriber or dropped at its full queue"),
            rowText("events delivered to a subscriber" + at, String.format("%.0f /s", got / fannedSeconds), "",
                String.format("%d of %d delivered, %d dropped (queue of 4096)", got, sent, lost)),
            rowText("passthrough round trip p50" + at, micros(busy[0], 50), "", busy[0].length + " commands"),
            rowText("passthrough round trip p99" + at, micros(busy[0], 99), "<= 5 ms",
                String.format("%.2fx idle", BenchStats.percentileMicros(busy[0], 99) / BenchStats.percentileMicros(idle, 99)))));
      }
      in.println("quit");

      System.out.printf("%n%d simulated QMP endpoints (SimQmpServers, not QEMU), one sidecar%n", SIMULATED);
      header();
      row("connect all (sockets appear to all ready)", String.format("%.0f ms", connectMs), "",
          "(includes up to 2 s until the next directory scan)");
      memoryRows(fixed, loaded, SIMULATED);
      row("passthrough round trip p50, idle", micros(idle, 50), "", idle.length + " commands");
      row("passthrough round trip p99, idle", micros(idle, 99), "", "");
      phases.forEach(System.out::println);
    } finally {
      if (!sim.waitFor(15, TimeUnit.SECONDS)) {
        sim.destroyForcibly();
      }
    }
  }

  /** Starts the QEMUs into {@code qemus}, which the caller closes after the sidecar. */
  private static void real(BenchSidecar sidecar, Path sockets, Path vms, Memory fixed, List<QemuProcess> qemus)
      throws Exception {
    long t0 = System.nanoTime();
    for (int i = 0; i < REAL; i++) {
      qemus.add(QemuProcess.startQtest(QemuBinaries.all().get(0), sockets, String.format("q%03d", i), 1));
    }
    double startAll = (System.nanoTime() - t0) / 1e9;
    double connectMs = appear(sidecar, sockets, vms, REAL);
    Memory loaded = Memory.now();
    System.out.printf("%n%d real QEMUs (%s, qtest mode), one sidecar%n", REAL, qemus.get(0).binary());
    header();
    row("start all QEMUs (one by one, for reference)", String.format("%.1f s", startAll), "", "");
    row("connect all (sockets appear to all ready)", String.format("%.0f ms", connectMs), "",
        "(includes up to 2 s until the next directory scan)");
    memoryRows(fixed, loaded, REAL);
  }

  /** Links every socket into the watched directory and times until all VMs are ready. */
  private static double appear(BenchSidecar sidecar, Path sockets, Path vms, int n) throws Exception {
    List<Path> all;
    try (Stream<Path> s = Files.list(sockets)) {
      all = s.filter(p -> p.toString().endsWith(".qmp")).sorted().toList();
    }
    if (all.size() != n) {
      throw new IllegalStateException("expected " + n + " sockets in " + sockets + ", found " + all.size());
    }
    long t0 = System.nanoTime();
    for (Path p : all) {
      Files.createSymbolicLink(vms.resolve(p.getFileName()), p);
    }
    long deadline = t0 + READY.toNanos();
    while (count(sidecar.proxyDir) < n) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + count(sidecar.proxyDir) + " of " + n + " VMs ready within " + READY);
      }
      Thread.sleep(5);
    }
    sidecar.awaitReady(READY);
    return (System.nanoTime() - t0) / 1e6;
  }

  private static long count(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.toString().endsWith(".qmp")).count();
    }
  }

  private static List<String> names(Path vms) throws IOException {
    try (Stream<Path> s = Files.list(vms)) {
      return s.map(p -> p.getFileName().toString().replace(".qmp", "")).sorted().toList();
    }
  }

  /** Sequential passthrough query-status round-robin over the VMs, for {@code seconds} or until {@code go} ends. */
  private static long[] latencies(Path api, List<String> names, int seconds, AtomicBoolean go) throws IOException {
    List<byte[]> requests = names.stream()
        .map(n -> BenchHttpClient.post("/v1/vms/" + n + "/qmp", "{\"execute\":\"query-status\"}")).toList();
    long[] times = new long[1 << 20];
    int n = 0;
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    try (BenchHttpClient http = new BenchHttpClient(api)) {
      while (go.get() && System.nanoTime() < end && n < times.length) {
        times[n] = http.roundTrip(requests.get(n % requests.size()));
        n++;
      }
    }
    return Arrays.copyOf(times, n);
  }

  private record Memory(long rssKiB, long heapBytes) {
    static Memory now() throws IOException {
      System.gc();
      long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return new Memory(Long.parseLong(line.replaceAll("[^0-9]", "")), heap);
        }
      }
      throw new IOException("no VmRSS in /proc/self/status");
    }
  }

  private static void memoryRows(Memory fixed, Memory loaded, int n) {
    row("RSS, no VM yet", String.format("%.1f MiB", fixed.rssKiB() / 1024.0), "", "");
    row("RSS, all VMs connected", String.format("%.1f MiB", loaded.rssKiB() / 1024.0),
        n >= 1000 ? "<= 512 MiB" : "", "");
    row("RSS per VM", String.format("%.1f KiB", (loaded.rssKiB() - fixed.rssKiB()) / (double) n), "", "");
    row("heap after full GC per VM", String.format("%.1f KiB", (loaded.heapBytes() - fixed.heapBytes()) / 1024.0 / n), "",
        String.format("%.1f MiB heap in use in all", loaded.heapBytes() / 1048576.0));
  }

  private static String expect(BufferedReader out, String prefix) throws IOException {
    String line = out.readLine();
    if (line == null || !line.startsWith(prefix)) {
      throw new IOException("the simulator said '" + line + "', expected '" + prefix + " ...'");
    }
    return line;
  }

  private static String micros(long[] nanos, double p) {
    return String.format("%.0f us", BenchStats.percentileMicros(nanos, p));
  }

  private static void header() {
    System.out.println(rowText("metric", "measured", "target", "note"));
  }

  private static void row(String metric, String value, String target, String note) {
    System.out.println(rowText(metric, value, target, note));
  }

  private static String rowText(String metric, String value, String target, String note) {
    return String.format("%-62s %14s %14s  %s", metric, value, target, note);
  }
}
