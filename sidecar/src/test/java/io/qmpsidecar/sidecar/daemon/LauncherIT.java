package io.qmpsidecar.sidecar.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteJDBCLoader;

/**
 * bin/qmp-sidecar over the packaged jar: its JVM profiles, a clear refusal of an unknown one, the
 * daemon's log formats and command line as the launcher starts it, and the native library it loads.
 */
class LauncherIT {
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();

  private record Run(int exit, String output) {}

  private static Run launch(Map<String, String> env, String... args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString());
    pb.command().addAll(List.of(args));
    pb.environment().putAll(env);
    Process p = pb.redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the launcher ends").isTrue();
    return new Run(p.exitValue(), out);
  }

  @Test
  void eachProfileRunsTheSidecarWithItsCollector() throws Exception {
    Run small = launch(Map.of("JAVA_OPTS", "-Xlog:gc:stdout"), "version");
    assertThat(small.exit()).as(small.output()).isZero();
    assertThat(small.output()).contains("Using Serial", "qmp-sidecar");
    Run host = launch(Map.of("QMP_SIDECAR_JVM", "host", "JAVA_OPTS", "-Xlog:gc:stdout"), "version");
    assertThat(host.exit()).as(host.output()).isZero();
    assertThat(host.output()).contains("Using G1", "qmp-sidecar");
  }

  @Test
  void theDaemonLogsHumanLinesOrJsonLinesAtTheLevelAsked(@TempDir Path dir) throws Exception {
    Run human = launch(Map.of("QMP_SIDECAR_LOG_LEVEL", "INFO"), daemon(dir.resolve("human")));
    assertThat(human.exit()).as(human.output()).isZero();
    assertThat(human.output()).containsPattern("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  Sidecar - qmp-sidecar ready in");
    Run quiet = launch(Map.of(), daemon(dir.resolve("quiet")));
    assertThat(quiet.exit()).as(quiet.output()).isZero();
    assertThat(quiet.output()).doesNotContain("qmp-sidecar ready");
    Run json = launch(Map.of(), daemon(dir.resolve("json"), "--set", "log.format=json"));
    assertThat(json.exit()).as(json.output()).isZero();
    assertThat(json.output().lines().filter(l -> l.contains("qmp-sidecar ready in")))
        .singleElement().asString()
        .startsWith("{").contains("\"level\":\"INFO\"", "\"logger\":\"io.qmpsidecar.sidecar.daemon.Sidecar\"");
  }

  @Test
  void theDaemonLoadsSqlitesNativeLibraryFromTheBuildsCopyNotTheTempDirectory(@TempDir Path dir) throws Exception {
    Path temp = Files.createDirectories(dir.resolve("tmp"));
    Path copied = Path.of("target", "native", "libsqlitejdbc-" + SQLiteJDBCLoader.getVersion() + ".so").toAbsolutePath();
    assertThat(copied).as("copied by record-cds at package time").isRegularFile();

    Run run = launch(Map.of("JAVA_OPTS", "-Xlog:library=info:stdout -Djava.io.tmpdir=" + temp), daemon(dir.resolve("d")));

    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains("Loaded library " + copied);
    try (var left = Files.list(temp)) {
      assertThat(left).as("nothing copied into the temp directory").isEmpty();
    }
  }

  @Test
  void aSmokeRunAsksReadyzOnItsApiSocketAndTheArchiveHoldsThatRequestsPath(@TempDir Path dir) throws Exception {
    Path classes = dir.resolve("classes.log");
    Run run = launch(Map.of("JAVA_OPTS", "-Xlog:class+load=info:file=" + classes), daemon(dir.resolve("d")));

    assertThat(run.exit()).as(run.output()).isZero();
    List<String> served = Files.readAllLines(classes).stream()
        .filter(l -> l.contains(" io.vertx.core.http.impl.http1.Http1ServerConnection ")
            || l.contains(" io.netty.handler.codec.http.HttpRequestDecoder "))
        .toList();
    assertThat(served).as("the API served the smoke run's request, with classes from the build's archive")
        .hasSize(2).allMatch(l -> l.endsWith("source: shared objects file (top)"));
  }

  @Test
  void runRefusesAnUnknownOptionWithItsUsage() throws Exception {
    Run run = launch(Map.of(), "run", "--no-such-option");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.output()).contains("Unknown option: '--no-such-option'", "Usage: qmp-sidecar run");
  }

  @Test
  void aSmokeRunWaitsForItsVmsAndNamesOneThatIsNotReady(@TempDir Path dir) throws Exception {
    Path silent = dir.resolve("silent.qmp");
    try (ServerSocketChannel monitor = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      monitor.bind(UnixDomainSocketAddress.of(silent));
      long start = System.nanoTime();
      Run run = launch(Map.of(), daemon(dir.resolve("d"), "--qmp", "vm1=unix:" + silent));

      assertThat(run.exit()).as(run.output()).isEqualTo(4);
      assertThat(run.output()).contains("not ready within 30 s", "vm vm1");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(30));
    }
  }

  @Test
  void aKilledDaemonLeavesNothingInTheTempDirectory(@TempDir Path dir) throws Exception {
    Path temp = Files.createDirectories(dir.resolve("tmp"));
    Path api = dir.resolve("api.sock");
    ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString(), "run", "--set", "api.socket=" + api,
        "--set", "stateDir=" + dir.resolve("state"), "--set", "proxy.dir=" + dir.resolve("proxy"));
    pb.environment().put("JAVA_OPTS", "-Djava.io.tmpdir=" + temp);
    Process daemon = pb.redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
    try {
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!Files.exists(api) && daemon.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(api).as("the daemon started: %s", Files.readString(dir.resolve("daemon.log"))).exists();
    } finally {
      daemon.destroyForcibly();
      assertThat(daemon.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    try (var left = Files.list(temp)) {
      assertThat(left).as("no file cache of Vert.x's (vertx-cache-UUID), no library copy").isEmpty();
    }
  }

  private static String[] daemon(Path dir, String... more) {
    List<String> args = new ArrayList<>(List.of("run", "--exit-when-ready",
        "--set", "api.socket=" + dir.resolve("api.sock"), "--set", "stateDir=" + dir.resolve("state"), "--set", "proxy.dir=" + dir.resolve("proxy")));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  void anUnknownProfileIsRefusedNamingTheChoices() throws Exception {
    for (String bad : new String[] {"large", "../jvm/host"}) {
      Run run = launch(Map.of("QMP_SIDECAR_JVM", bad), "version");
      assertThat(run.exit()).isEqualTo(2);
      assertThat(run.output()).contains("QMP_SIDECAR_JVM=" + bad, "use small or host");
    }
  }
}
