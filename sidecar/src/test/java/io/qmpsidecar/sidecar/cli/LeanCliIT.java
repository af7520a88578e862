package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The lean path prints what the full command line prints, with the same exit code, for every call
 * it takes: against an in-process sidecar serving a real QEMU (answers and problems: an unknown
 * VM, no migration), against an API that never answers, and through bin/qmp-sidecar, where what
 * it does not take (a daemon that is not there) reaches the full command line, and where the
 * daemon starts without picocli and fails as it does with it.
 */
class LeanCliIT {
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private static Run lean(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = LeanCli.run(args.toArray(new String[0]), Map.of(), new PrintWriter(out), new PrintWriter(err));
    return new Run(exit, out.toString(), err.toString());
  }

  private static void printsTheSame(List<String> args) {
    Run lean = lean(args);
    assertThat(lean.exit()).as("the lean path takes %s", args).isNotEqualTo(LeanCli.NOT_HANDLED);
    assertThat(lean).as("%s", args).isEqualTo(CliRunner.run(args.toArray(new String[0])));
  }

  @QemuTest
  void eachCallPrintsWhatTheFullCommandLinePrints(QemuBinary binary) throws Exception {
    TestConfig config = harness.config().vm("vm1", harness.qemu(binary, "vm1", 1)).flowTestPolicy();
    harness.startReady(config);
    String api = "--api=unix:" + config.apiSocket();
    String proxy = "unix:" + config.proxyDir().resolve("vm1.qmp");
    List<List<String>> calls = new ArrayList<>();
    for (String output : List.of("table", "json")) {
      calls.add(List.of("vms", "--output", output, api));
      calls.add(List.of("devices", "list", "vm1", api, "--output=" + output));
      calls.add(List.of("migrate", "status", "vm1", api, "--timeout", "5", "--output", output));
    }
    calls.add(List.of("vms", "--names", api));
    // A bare path, as a hook's QMP_SIDECAR_API holds it.
    calls.add(List.of("vms", "--api=" + config.apiSocket()));
    calls.add(List.of("devices", "list", "vm1", "--api", config.apiSocket().toString()));
    calls.add(List.of("devices", "list", "no-such-vm", api));
    calls.add(List.of("migrate", "status", "no-such-vm", api));
    calls.add(List.of("version"));
    calls.forEach(LeanCliIT::printsTheSame);
    assertThat(lean(List.of("devices", "list", "no-such-vm", api)).exit()).as("a problem's exit code").isEqualTo(1);

    // With a device: a table of attachments. Its guest address is final once the firmware has
    // numbered the root port's bus.
    Await.until("the firmware has numbered rp1's bus", () -> {
      Run pci = CliRunner.run("exec", "--qmp", proxy, "query-pci");
      return pci.exit() == 0 && pci.out().matches("(?s).*\"secondary\" : [1-9].*");
    });
    Run attach = CliRunner.run("devices", "attach", "vm1", "--driver", "e1000e", "--id", "nic1", api);
    assertThat(attach.exit()).as(attach.err()).isZero();
    Await.until("nic1 has its guest address", () -> lean(List.of("devices", "list", "vm1", api)).out()
        .matches("(?s).*\\bnic1 +e1000e +- +rp1 +01:00\\.0 +ATTACHED\\b.*"));
    printsTheSame(List.of("devices", "list", "vm1", api));
    printsTheSame(List.of("devices", "list", "vm1", api, "--output", "json"));
  }

  @Test
  void anApiThatNeverAnswersTimesOutWithTheSameLine(@TempDir Path dir) throws Exception {
    Path socket = dir.resolve("silent.sock");
    try (ServerSocketChannel silent = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      silent.bind(UnixDomainSocketAddress.of(socket));
      List<SocketChannel> accepted = new ArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept());
          }
        } catch (Exception e) {
          // closed at the end of the test
        }
      });
      acceptor.start();
      List<String> args = List.of("migrate", "status", "vm1", "--timeout", "1", "--api", "unix:" + socket);
      printsTheSame(args);
      assertThat(lean(args).err()).contains("did not answer within 1 s");
      assertThat(lean(args).exit()).isEqualTo(4);
    }
  }

  @Test
  void whatTheLeanPathDoesNotTakeReachesTheFullCommandLine(@TempDir Path dir) throws Exception {
    String missing = "--api=unix:" + dir.resolve("no-daemon.sock");
    for (List<String> args : List.of(List.of("vms", missing), List.of("vms", "--api", "http://127.0.0.1:1"),
        List.of("vms", "--qmp", "unix:" + dir.resolve("no-qemu.qmp")), List.of("devices", "list", missing),
        List.of("vms", "--output", "yaml", missing), List.of("vms", "--timeout", "0", missing))) {
      assertThat(lean(args)).as("%s", args).isEqualTo(new Run(LeanCli.NOT_HANDLED, "", ""));
      Run viaLauncher = launch(Map.of(), args);
      assertThat(viaLauncher).as("%s", args).isEqualTo(launch(Map.of("QMP_SIDECAR_LEAN", "0"), args));
      assertThat(viaLauncher.exit()).as("%s", args).isIn(2, 4);
    }
    Path classes = dir.resolve("classes.log");
    Run version = launch(Map.of("JAVA_OPTS", "-Xlog:class+load=info:file=" + classes), List.of("version"));
    assertThat(version.exit()).isZero();
    assertThat(version).isEqualTo(launch(Map.of("QMP_SIDECAR_LEAN", "0"), List.of("version")));
    assertThat(Files.readString(classes)).as("the launcher started the lean path")
        .contains(LeanCli.class.getName()).doesNotContain("io.vertx.", "picocli.CommandLine$Model");
  }

  @Test
  void theDaemonStartsWithoutPicocliAndFailsAsTheFullCommandLineDoes(@TempDir Path dir) throws Exception {
    Path classes = dir.resolve("classes.log");
    List<String> ready = List.of("run", "--exit-when-ready", "--set", "api.socket=" + dir.resolve("api.sock"),
        "--set=stateDir=" + dir.resolve("state"), "--set", "proxy.dir=" + dir.resolve("proxy"));
    Run lean = launch(Map.of("JAVA_OPTS", "-Xlog:class+load=info:file=" + classes), ready);
    assertThat(lean.exit()).as(lean.err()).isZero();
    assertThat(Files.readString(classes)).as("the launcher started the lean path")
        .contains(LeanCli.class.getName(), RunCommand.class.getName()).doesNotContain("picocli.");
    assertThat(lean).isEqualTo(launch(Map.of("QMP_SIDECAR_LEAN", "0"), ready));

    for (List<String> args : List.of(List.of("run", "--config", dir.resolve("missing.yaml").toString()),
        List.of("run", "--qmp", "vm1=tcp:nowhere"), List.of("run", "--set", "no.such.key=1"))) {
      Run failed = launch(Map.of(), args);
      assertThat(failed).as("%s", args).isEqualTo(launch(Map.of("QMP_SIDECAR_LEAN", "0"), args));
      assertThat(failed.exit()).as("%s", args).isIn(1, 2);
      assertThat(failed.err()).as("%s", args).startsWith("qmp-sidecar: ");
    }
  }

  private static Run launch(Map<String, String> env, List<String> args) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(LAUNCHER.toString());
    pb.command().addAll(args);
    pb.environment().remove("QMP_SIDECAR_API");
    pb.environment().remove("QMP_SIDECAR_LEAN");
    pb.environment().remove("JAVA_OPTS");
    pb.environment().putAll(env);
    Process p = pb.redirectError(ProcessBuilder.Redirect.PIPE).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the launcher ends").isTrue();
    return new Run(p.exitValue(), out, err);
  }
}
