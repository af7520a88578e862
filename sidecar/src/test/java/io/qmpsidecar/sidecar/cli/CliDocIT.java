package io.qmpsidecar.sidecar.cli;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.PciDevice;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Runs every example of docs/cli.md from "Talking to a running sidecar" on, in order, as one
 * session against an in-process sidecar serving two real QEMUs, and expects the output and exit
 * code the document shows. The documented paths, QEMU version, port and detach wait are
 * replaced by this session's; {@code ...} matches any lines (alone on a line) or any text. A
 * command ending in {@code &} runs in the background, once connected to its {@code --qmp}
 * socket, until {@code $ wait}, which shows its output and exit code.
 */
class CliDocIT {
  private static final Path DOC = Path.of("").toAbsolutePath().getParent().resolve("docs/cli.md");
  private static final String FIRST_SECTION = "## Talking to a running sidecar";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  /** A command, what it prints and its exit code; a background command has neither until {@code wait}. */
  record Example(String command, List<String> expected, int exit, boolean background) {}

  static List<Example> examples() throws IOException {
    List<String> lines = Files.readAllLines(DOC);
    List<Example> examples = new ArrayList<>();
    boolean inConsole = false;
    String command = null;
    List<String> expected = new ArrayList<>();
    for (String line : lines.subList(lines.indexOf(FIRST_SECTION), lines.size())) {
      if (line.equals("```console")) {
        inConsole = true;
      } else if (inConsole && line.equals("```")) {
        assertThat(command).as("every example ends with [exit N]").isNull();
        inConsole = false;
      } else if (inConsole && line.startsWith("$ ") && line.endsWith(" &")) {
        examples.add(new Example(line.substring(2, line.length() - 2), List.of(), 0, true));
      } else if (inConsole && line.startsWith("$ ")) {
        command = line.substring(2);
        expected = new ArrayList<>();
      } else if (inConsole && line.startsWith("[exit ")) {
        examples.add(new Example(command, expected, Integer.parseInt(line.substring(6, line.length() - 1)), false));
        command = null;
      } else if (inConsole) {
        expected.add(line);
      }
    }
    return examples;
  }

  @QemuTest
  void everyDocumentedExampleRunsAsShown(QemuBinary binary) throws Exception {
    List<Example> examples = examples();
    assertThat(examples).filteredOn(e -> e.command().startsWith("qmp-sidecar ")).extracting(e -> e.command().split(" ")[1])
        .contains("vms", "devices", "events", "migrate", "completion", "exec", "demo", "run", "config", "version");
    assertThat(examples).as("--qmp examples").filteredOn(e -> e.command().contains(" --qmp ")).extracting(
        e -> e.command().replaceAll("^qmp-sidecar ((devices|migrate) )?(\\w+).*", "$1$3"))
        .contains("vms", "devices list", "devices detach", "devices attach", "events", "migrate start", "migrate status",
            "migrate cancel", "exec");
    QemuProcess vm1 = harness.qemu(binary, "vm1", 2);
    QemuProcess vm2 = harness.qemu(binary, "vm2", 2, "-incoming", "defer");
    TestConfig config = harness.config().vm("vm1", vm1).vm("vm2", vm2).detachWait(Duration.ofMillis(300))
        .flowTestPolicy();
    harness.start(config);
    Path proxy = config.proxyDir();
    String api = "--api=unix:" + config.apiSocket();
    Await.until("both VMs are ready and the proxy socket exists", () -> Files.exists(proxy.resolve("vm1.qmp"))
        && run(List.of("vms", "--output", "json", api)).out().split("\"ready\"", -1).length == 3);
    awaitNumberedRootPorts(proxy.resolve("vm1.qmp"));
    String port = Integer.toString(freePort());
    Map<String, String> inOutput = Map.of("unix:/run/qemu/vm1.qmp", vm1.qmpAddress().toString(),
        "unix:/run/qemu/vm2.qmp", vm2.qmpAddress().toString(), "10.0.0", binary.version(),
        "within 30000 ms", "within 300 ms", "unix:/run/qmp-sidecar/proxy/vm1.qmp", "unix:" + proxy.resolve("vm1.qmp"));

    SoftAssertions softly = new SoftAssertions();
    CompletableFuture<Run> background = null;
    for (Example example : examples) {
      List<String> args = new ArrayList<>(List.of(example.command().split(" +")));
      Run result;
      if (args.equals(List.of("wait"))) {
        assertThat(background).as("a command runs in the background before $ wait").isNotNull();
        result = background.get(30, TimeUnit.SECONDS);
        background = null;
      } else {
        assertThat(args.remove(0)).isEqualTo("qmp-sidecar");
        args.replaceAll(a -> a.replace("/run/qmp-sidecar/proxy", proxy.toString())
            .replace("tcp:127.0.0.1:4444", "tcp:127.0.0.1:" + port));
        if (!args.contains("--qmp") && !List.of("exec", "completion", "demo", "run", "config", "version").contains(args.get(0))) {
          args.add(api);
        }
        if (example.background()) {
          Path socket = Path.of(args.get(args.indexOf("--qmp") + 1).substring("unix:".length()));
          long before = clients(socket);
          background = CompletableFuture.supplyAsync(() -> run(args));
          Await.until(example.command() + " is connected", () -> clients(socket) > before);
          System.out.printf("$ %s &%n", String.join(" ", args));
          continue;
        }
        result = run(args);
        if (args.contains("system_reset")) {
          awaitNumberedRootPorts(proxy.resolve("vm1.qmp"));
        }
      }
      List<String> expected = new ArrayList<>(example.expected());
      inOutput.forEach((doc, actual) -> expected.replaceAll(l -> l.replace(doc, actual)));
      // The session's transcript, for reading a failure next to what the document shows.
      System.out.printf("$ %s%n%s%n[exit %d]%n", String.join(" ", args), String.join("\n", result.lines()), result.exit());
      softly.assertThat(matches(expected, result.lines(), 0, 0))
          .as("%s%nprinted:%n%s%nexpected:%n%s", example.command(), String.join("\n", result.lines()),
              String.join("\n", expected)).isTrue();
      softly.assertThat(result.exit()).as("exit code of %s (err: %s)", example.command(), result.err()).isEqualTo(example.exit());
    }
    assertThat(background).as("every background command has its $ wait").isNull();
    softly.assertAll();
  }

  /**
   * The examples show a device listed behind its root port, so each waits until SeaBIOS numbered
   * the ports' buses: at start and again after a reset, which clears the numbers (query-pci lists
   * nothing behind an unnumbered bridge). This can take seconds on a loaded machine.
   */
  private static void awaitNumberedRootPorts(Path monitor) {
    QmpConnection viaProxy = result(QmpClient.create(harness.vertx(), QmpClientOptions.of(QmpAddress.unix(monitor))).connect());
    try {
      Await.until("SeaBIOS numbered vm1's root ports", () -> result(viaProxy.queryPci()).stream()
          .filter(PciDevice::isBridge).allMatch(d -> d.secondaryBus() != null && d.secondaryBus() > 0));
    } finally {
      result(viaProxy.close());
    }
  }

  /**
   * Connected clients the kernel lists (/proc/net/unix, state 03) for the Unix sockets in the
   * directory of {@code socket}: the proxy binds a temporary name there and renames it onto the
   * socket's path, and the kernel keeps listing the name it bound.
   */
  private static long clients(Path socket) {
    String dir = socket.toAbsolutePath().getParent() + "/";
    try (var lines = Files.lines(Path.of("/proc/net/unix"))) {
      return lines.map(l -> l.trim().split("\\s+")).filter(f -> f.length >= 8 && f[7].startsWith(dir) && f[5].equals("03"))
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Run run(List<String> args) {
    return CliRunner.run(args.toArray(new String[0]));
  }

  /** Line by line, spaces collapsed; a line {@code ...} matches any lines, {@code ...} in a line any text. */
  static boolean matches(List<String> expected, List<String> actual, int e, int a) {
    if (e == expected.size()) {
      return a == actual.size();
    }
    if (expected.get(e).equals("...")) {
      for (int skip = a; skip <= actual.size(); skip++) {
        if (matches(expected, actual, e + 1, skip)) {
          return true;
        }
      }
      return false;
    }
    return a < actual.size() && line(expected.get(e)).matcher(actual.get(a).strip().replaceAll(" +", " ")).matches()
        && matches(expected, actual, e + 1, a + 1);
  }

  private static Pattern line(String expected) {
    String[] parts = expected.strip().replaceAll(" +", " ").split(Pattern.quote("..."), -1);
    StringBuilder regex = new StringBuilder();
    for (int i = 0; i < parts.length; i++) {
      regex.append(i == 0 ? "" : ".*").append(Pattern.quote(parts[i]));
    }
    return Pattern.compile(regex.toString(), Pattern.DOTALL);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
