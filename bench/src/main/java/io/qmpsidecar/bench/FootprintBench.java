package io.qmpsidecar.bench;

import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/**
 * The daemon's footprint as shipped: {@code bin/qmp-sidecar run} as a child process against one
 * real QEMU (qtest mode), each QEMU of the matrix in turn, with the class-data sharing archive that {@code ./mvnw package}
 * records, against the same jar under plain {@code java -jar} (the JVM's defaults: G1, a quarter
 * of the machine's memory as heap, both JIT tiers) as the baseline, the launcher's options without
 * the archive, and the launcher's {@code host} profile. Start-up is process start to {@code GET
 * /readyz} answering 200 over the API socket; idle RSS is {@code VmRSS} from /proc after
 * {@value #IDLE_SECONDS} s idle, and of it, what no other process shares ({@code Private_Dirty}
 * from {@code smaps_rollup}: the heap, metaspace, stacks, and pages of mapped files the process
 * wrote to). The rest are clean pages of files (libjvm, the class-data archives, the jars) that
 * every sidecar on a host maps from the same page cache, so each further sidecar costs about the
 * unshared figure. The variants run in alternating rounds.
 *
 * <p>One more variant is the floor of the required stack, not a way to run the sidecar:
 * {@link FootprintFloor} (Vert.x, Netty, qmp-client, Jackson, logback) with the launcher's JVM
 * options and a class-data archive of its own, recorded at the start of the run as the build
 * records the sidecar's. What the sidecar costs beyond it is its own work.
 */
public final class FootprintBench {
  private static final int ROUNDS = 3;
  private static final int IDLE_SECONDS = 5;
  private static final Duration READY = Duration.ofSeconds(60);
  /** The floor's variant: not the sidecar (see the class comment). */
  private static final String FLOOR = "floor: stack only (small, CDS)";

  private FootprintBench() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of("").toAbsolutePath();
    Path launcher = root.resolve("bin/qmp-sidecar");
    Path jar = root.resolve("sidecar/target/qmp-sidecar.jar");
    if (!Files.isRegularFile(jar) || !Files.isExecutable(launcher)) {
      throw new IllegalStateException("run from the checkout after ./mvnw -B package -DskipTests (bench/run does): "
          + jar + " or " + launcher + " is missing");
    }
    Path archive = root.resolve("sidecar/target/qmp-sidecar.jsa");
    if (!Files.isRegularFile(archive)) {
      throw new IllegalStateException(archive + " is missing: ./mvnw -B package records it (sidecar/src/build/record-cds)");
    }
    sync();
    Path dir = Files.createTempDirectory("footprint-bench");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> smallOptions = new ArrayList<>(List.of(java, "@" + root.resolve("bin/jvm/small")));
    smallOptions.addAll(List.of("-jar", jar.toString()));
    Path floorArchive = dir.resolve("floor.jsa");
    List<String> floorJava = List.of(java, "@" + root.resolve("bin/jvm/small"), "-cp", floorClassPath(dir, jar));
    for (QemuBinary binary : QemuBinaries.all()) {
      try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "bench-" + binary.version(), 1)) {
        Path monitor = qemu.qmpAddress().unixPath();
        if (!Files.exists(floorArchive)) {
          recordFloorArchive(floorJava, floorArchive, dir, monitor);
        }
        Launch sidecar = (api, run) -> List.of("run", "--set", "api.socket=" + api,
            "--set", "stateDir=" + run.resolve("state"), "--set", "proxy.dir=" + run.resolve("proxy"),
            "--qmp", "vm1=unix:" + monitor);
        Launch floor = (api, run) -> List.of(FootprintFloor.class.getName(), api.toString(), monitor.toString());
        List<String> floorCommand = new ArrayList<>(floorJava);
        floorCommand.add(1, "-XX:SharedArchiveFile=" + floorArchive);
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        Map<String, String> options = new LinkedHashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
          run(samples, options, "java -jar (JVM defaults)", List.of(java, "-jar", jar.toString()), Map.of(), dir,
              sidecar);
          run(samples, options, "launcher options, no CDS archive", smallOptions, Map.of(), dir, sidecar);
          run(samples, options, "bin/qmp-sidecar (small, CDS)", List.of(launcher.toString()), Map.of(), dir, sidecar);
          run(samples, options, "bin/qmp-sidecar (host, CDS)", List.of(launcher.toString()),
              Map.of("QMP_SIDECAR_JVM", "host"), dir, sidecar);
          run(samples, options, FLOOR, floorCommand, Map.of(), dir, floor);
        }
        print(binary, samples, options);
      }
    }
  }

  /** A daemon's arguments after its JVM's, for its API socket and run directory. */
  @FunctionalInterface
  private interface Launch {
    List<String> args(Path api, Path run);
  }

  /**
   * The floor's class path: a jar holding only {@link FootprintFloor} (a class-data archive takes
   * jars, not the benchmark's classes directory), then the sidecar's runnable jar, which holds
   * the same libraries (and the sidecar's log set-up in code, a logback service).
   */
  private static String floorClassPath(Path dir, Path sidecarJar) throws IOException {
    String name = FootprintFloor.class.getName().replace('.', '/') + ".class";
    Path jar = dir.resolve("floor.jar");
    try (InputStream in = FootprintFloor.class.getClassLoader().getResourceAsStream(name);
        JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      if (in == null) {
        throw new IOException(name + " is not on the benchmark's class path");
      }
      out.putNextEntry(new JarEntry(name));
      in.transferTo(out);
      out.closeEntry();
    }
    return jar + File.pathSeparator + sidecarJar;
  }

  /** The floor's training run, as {@code record-cds} records the sidecar's archive. */
  private static void recordFloorArchive(List<String> floorJava, Path archive, Path dir, Path monitor)
      throws Exception {
    Path run = Files.createTempDirectory(dir, "floor-record");
    List<String> cmd = new ArrayList<>(floorJava);
    cmd.add(1, "-XX:ArchiveClassesAtExit=" + archive);
    cmd.addAll(List.of(FootprintFloor.class.getName(), run.resolve("api.sock").toString(), monitor.toString(),
        "--exit-when-ready"));
    Path log = run.resolve("log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(READY.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("the floor's training run did not end within " + READY + "; its output: "
          + Files.readString(log));
    }
    if (p.exitValue() != 0 || !Files.isRegularFile(archive)) {
      throw new IllegalStateException("the floor's training run failed (exit " + p.exitValue() + "); its output: "
          + Files.readString(log));
    }
    sync();
  }

  /**
   * Writes dirty pages back: a file written moments ago (an archive, when the build before this
   * run recorded it) counts as Private_Dirty in every process that maps it until the kernel has
   * written it back, ~16 MiB that no sidecar would own on a host.
   */
  private static void sync() throws IOException, InterruptedException {
    Process sync = new ProcessBuilder("sync").inheritIO().start();
    if (!sync.waitFor(2, TimeUnit.MINUTES)) {
      sync.destroyForcibly();
      throw new IllegalStateException("sync did not finish in 2 minutes: the unshared figures would count"
          + " pages not yet written to disk; run again when the disk is idle");
    }
    if (sync.exitValue() != 0) {
      throw new IllegalStateException("sync failed (exit " + sync.exitValue() + "): see its message above");
    }
  }

  private record Sample(double startMillis, long rssKiB, long unsharedKiB, String jvmOptions) {}

  private static void run(Map<String, List<Sample>> samples, Map<String, String> options, String name,
      List<String> command, Map<String, String> env, Path dir, Launch launch) throws Exception {
    Sample s = start(command, env, dir, launch, IDLE_SECONDS);
    samples.computeIfAbsent(name, k -> new ArrayList<>()).add(s);
    options.put(name, s.jvmOptions());
  }

  /** Starts the daemon, waits until ready, idles {@code idleSeconds}, reads VmRSS and stops it. */
  private static Sample start(List<String> command, Map<String, String> env, Path dir, Launch launch,
      int idleSeconds) throws Exception {
    Path run = Files.createTempDirectory(dir, "run");
    Path api = run.resolve("api.sock");
    List<String> cmd = new ArrayList<>(command);
    cmd.addAll(launch.args(api, run));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(run.resolve("log").toFile());
    pb.environment().remove("JAVA_OPTS");
    pb.environment().remove("QMP_SIDECAR_JVM");
    pb.environment().putAll(env);
    pb.environment().remove("INVOCATION_ID");
    pb.environment().remove("JOURNAL_STREAM");
    long t0 = System.nanoTime();
    Process p = pb.start();
    try {
      BenchSidecar.awaitReady(api, READY);
      double startMillis = (System.nanoTime() - t0) / 1e6;
      Thread.sleep(idleSeconds * 1000L);
      return new Sample(startMillis, kiB(p.pid(), "status", "VmRSS:"), kiB(p.pid(), "smaps_rollup", "Private_Dirty:"),
          jvmOptions(p.pid()));
    } finally {
      p.destroy();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A figure in kB from a /proc file of the process, e.g. {@code VmRSS:} in {@code status}. */
  private static long kiB(long pid, String file, String key) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), file))) {
      if (line.startsWith(key)) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no " + key + " in /proc/" + pid + "/" + file);
  }

  /** The options the JVM was started with: its command line up to {@code -jar} or {@code -cp}. */
  private static String jvmOptions(long pid) throws IOException {
    String[] argv = new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")),
        StandardCharsets.UTF_8).split("\0");
    List<String> opts = new ArrayList<>(Arrays.asList(argv).subList(1, argv.length));
    int mainAt = opts.indexOf("-jar") < 0 ? opts.indexOf("-cp") : opts.indexOf("-jar");
    return String.join(" ", mainAt < 0 ? opts : opts.subList(0, mainAt));
  }

  private static void print(QemuBinary binary, Map<String, List<Sample>> samples, Map<String, String> options) {
    System.out.printf("%nOne VM (QEMU %s, qtest), median of %d alternating rounds; RSS after %d s idle; unshared:"
        + " Private_Dirty%n", binary.version(), ROUNDS, IDLE_SECONDS);
    samples.keySet().forEach(name -> System.out.printf("  %-32s JVM options: %s%n", name,
        options.get(name).isEmpty() ? "(none)" : options.get(name)));
    List<Sample> base = samples.values().iterator().next();
    double baseStart = median(base, true);
    double baseRss = median(base, false);
    double baseUnshared = BenchStats.median(base.stream().map(x -> (double) x.unsharedKiB()).toList());
    System.out.printf("%-32s %-22s %12s %12s %8s%n", "variant", "metric", "value", "baseline", "ratio");
    samples.forEach((name, list) -> {
      double start = median(list, true);
      double rss = median(list, false);
      System.out.printf("%-32s %-22s %9.0f ms %9.0f ms %7.2fx%n", name, "start-up to ready", start, baseStart, start / baseStart);
      System.out.printf("%-32s %-22s %8.1f MiB %8.1f MiB %7.2fx%n", name, "idle RSS", rss / 1024, baseRss / 1024, rss / baseRss);
      double unshared = BenchStats.median(list.stream().map(x -> (double) x.unsharedKiB()).toList());
      System.out.printf("%-32s %-22s %8.1f MiB %8.1f MiB %7.2fx%n", name, "of it unshared", unshared / 1024,
          baseUnshared / 1024, unshared / baseUnshared);
    });
  }

  private static double median(List<Sample> list, boolean start) {
    List<Double> values = new ArrayList<>();
    list.forEach(s -> values.add(start ? s.startMillis() : (double) s.rssKiB()));
    return BenchStats.median(values);
  }
}
