package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One CLI call as a user makes it, {@code bin/qmp-sidecar vms} against a sidecar serving one
 * real QEMU (qtest mode), each call a new process: the lean path (the launcher's default for the
 * common read calls), the full command line ({@code QMP_SIDECAR_LEAN=0}), and as the baseline
 * {@code curl --unix-socket API http://localhost/v1/vms}, the same request with no JVM at all.
 * Wall time is process start to exit; CPU time (user and system) and max RSS are
 * {@code /usr/bin/time}'s (every variant runs under it): on a busy machine CPU time moves less
 * than wall time. The variants alternate, one call each per round, {@value #CALLS} rounds
 * ({@code -Dbench.calls=N}); the lean path's output must equal the full command line's.
 */
public final class CliBench {
  private static final int CALLS = 30;
  private static final Path TIME = Path.of("/usr/bin/time");

  private CliBench() {}

  private record Call(long nanos, long cpuMillis, long rssKiB, String out) {}

  public static void main(String[] args) throws Exception {
    int calls = Integer.getInteger("bench.calls", CALLS);
    Path root = Path.of("").toAbsolutePath();
    Path launcher = root.resolve("bin/qmp-sidecar");
    if (!Files.isRegularFile(root.resolve("sidecar/target/qmp-sidecar.jar"))) {
      throw new IllegalStateException("run from the checkout after ./mvnw -B package -DskipTests (bench/run does)");
    }
    if (!Files.isExecutable(TIME)) {
      throw new IllegalStateException(TIME + " is missing (Debian package time): it measures each call's max RSS");
    }
    Path dir = Files.createTempDirectory("cli-bench");
    try (QemuProcess qemu = QemuProcess.startQtest(QemuBinaries.all().get(0), dir, "bench", 1);
        BenchSidecar sidecar = BenchSidecar.start(dir.resolve("sidecar"), List.of(),
            List.of("vm1=unix:" + qemu.qmpAddress().unixPath()), Duration.ofSeconds(30))) {
      sidecar.awaitReady(Duration.ofSeconds(30));
      String api = sidecar.apiSocket.toString();
      Map<String, List<String>> commands = new LinkedHashMap<>();
      commands.put("curl --unix-socket (baseline)", List.of("curl", "-sS", "--unix-socket", api, "http://localhost/v1/vms"));
      commands.put("bin/qmp-sidecar vms (lean)", List.of(launcher.toString(), "vms", "--api", "unix:" + api));
      commands.put("QMP_SIDECAR_LEAN=0 (full CLI)", List.of("env", "QMP_SIDECAR_LEAN=0", launcher.toString(), "vms",
          "--api", "unix:" + api));
      Map<String, List<Call>> samples = new LinkedHashMap<>();
      commands.keySet().forEach(k -> samples.put(k, new ArrayList<>()));
      // One call of each first, unmeasured: the page cache holds the jars and archives.
      for (List<String> command : commands.values()) {
        call(command, dir);
      }
      for (int round = 0; round < calls; round++) {
        for (Map.Entry<String, List<String>> e : commands.entrySet()) {
          samples.get(e.getKey()).add(call(e.getValue(), dir));
        }
      }
      List<Call> lean = samples.get("bin/qmp-sidecar vms (lean)");
      List<Call> full = samples.get("QMP_SIDECAR_LEAN=0 (full CLI)");
      if (!lean.get(0).out().equals(full.get(0).out())) {
        throw new IllegalStateException("the lean path printed\n" + lean.get(0).out() + "\nthe full CLI\n" + full.get(0).out());
      }
      print(samples, calls, qemu.qmpAddress().toString());
    }
  }

  /** Runs one call under /usr/bin/time; fails unless it exits 0. */
  private static Call call(List<String> command, Path dir) throws Exception {
    Path time = dir.resolve("time");
    List<String> timed = new ArrayList<>(List.of(TIME.toString(), "-o", time.toString(), "-f", "%M %U %S"));
    timed.addAll(command);
    ProcessBuilder pb = new ProcessBuilder(timed).redirectErrorStream(true);
    pb.environment().remove("JAVA_OPTS");
    pb.environment().remove("QMP_SIDECAR_JVM");
    pb.environment().remove("QMP_SIDECAR_LEAN");
    long t0 = System.nanoTime();
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException(command + " did not end within 60 s");
    }
    long nanos = System.nanoTime() - t0;
    if (p.exitValue() != 0) {
      throw new IllegalStateException(command + " exited " + p.exitValue() + ": " + out);
    }
    List<String> lines = Files.readAllLines(time);
    String[] figures = lines.get(lines.size() - 1).strip().split(" ");
    long cpuMillis = Math.round((Double.parseDouble(figures[1]) + Double.parseDouble(figures[2])) * 1000);
    return new Call(nanos, cpuMillis, Long.parseLong(figures[0]), out);
  }

  private static void print(Map<String, List<Call>> samples, int calls, String qmp) {
    System.out.printf("%n%d calls each of GET /v1/vms (one VM: %s), alternating; wall time per call, max RSS%n", calls, qmp);
    System.out.println("CPU is user + system time at /usr/bin/time's 10 ms resolution; its ratio counts a baseline below 10 ms as 10 ms");
    System.out.printf("%-32s %-14s %10s %10s %8s%n", "variant", "metric", "value", "baseline", "ratio");
    List<Call> base = samples.values().iterator().next();
    samples.forEach((name, list) -> {
      for (double p : new double[] {50, 90}) {
        double ms = millis(list, p);
        double baseMs = millis(base, p);
        System.out.printf("%-32s %-14s %7.1f ms %7.1f ms %7.1fx%n", name, "wall p" + (int) p, ms, baseMs, ms / baseMs);
      }
      double cpu = BenchStats.percentile(list.stream().mapToLong(Call::cpuMillis).toArray(), 50);
      double baseCpu = BenchStats.percentile(base.stream().mapToLong(Call::cpuMillis).toArray(), 50);
      System.out.printf("%-32s %-14s %7.0f ms %7.0f ms %7.1fx%n", name, "CPU p50", cpu, baseCpu, cpu / Math.max(baseCpu, 10));
      double rss = rss(list);
      double baseRss = rss(base);
      System.out.printf("%-32s %-14s %6.1f MiB %6.1f MiB %7.1fx%n", name, "max RSS p50", rss / 1024, baseRss / 1024,
          rss / baseRss);
    });
  }

  private static double millis(List<Call> list, double p) {
    return BenchStats.percentile(list.stream().mapToLong(Call::nanos).toArray(), p) / 1e6;
  }

  private static double rss(List<Call> list) {
    return BenchStats.percentile(list.stream().mapToLong(Call::rssKiB).toArray(), 50);
  }
}
