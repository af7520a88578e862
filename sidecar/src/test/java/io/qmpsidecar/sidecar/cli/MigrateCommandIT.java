package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code migrate start|status|cancel} between two real QEMUs served by one in-process sidecar. */
class MigrateCommandIT {
  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();

  private TestConfig config;

  private void start(QemuBinary binary) throws Exception {
    config = harness.config().vm("src", harness.qemu(binary, "src", 1))
        .vm("dst", harness.qemu(binary, "dst", 1, "-incoming", "defer")).flowTestPolicy();
    harness.start(config);
    Await.until("both VMs are ready", () -> cli("vms").out().lines().filter(l -> l.contains(" ready ")).count() == 2);
  }

  private Run cli(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--api=unix:" + config.apiSocket());
    return CliRunner.run(all.toArray(new String[0]));
  }

  private static String uri() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return "tcp:127.0.0.1:" + s.getLocalPort();
    }
  }

  @QemuTest
  void startFollowsWithPlainLinesUntilCompletedAndStatusShowsIt(QemuBinary binary) throws Exception {
    start(binary);
    Run none = cli("migrate", "status", "src");
    assertThat(none.exit()).isEqualTo(1);
    assertThat(none.err().strip()).isEqualTo("No migration: VM src has not been migrated by this sidecar");

    Run run = cli("migrate", "start", "src", "--to", "dst", "--uri", uri(), "--downtime-limit", "300", "--follow");
    assertThat(run.exit()).as(run.err()).isEqualTo(0);
    List<String> lines = run.out().lines().toList();
    assertThat(lines).as("a plain line per change, no bar without a terminal").isNotEmpty()
        .allSatisfy(l -> assertThat(l).doesNotContain("\r", "[#"));
    assertThat(lines.get(lines.size() - 1)).startsWith("COMPLETED");
    assertThat(lines).doesNotHaveDuplicates();

    Run status = cli("migrate", "status", "src");
    assertThat(status.exit()).isEqualTo(0);
    assertThat(status.out()).containsPattern("(?m)^vm +src$").containsPattern("(?m)^destination +dst$")
        .containsPattern("(?m)^state +COMPLETED$").containsPattern("(?m)^total +64\\.\\d MiB$");

    Run json = cli("migrate", "status", "src", "--output", "json");
    assertThat(json.out()).contains("\"state\" : \"COMPLETED\"", "\"destinationRecord\"");
  }

  @QemuTest
  void cancelRollsBackAndFollowReportsItWithExitOne(QemuBinary binary) throws Exception {
    start(binary);
    Run started = cli("migrate", "start", "src", "--to", "dst", "--uri", uri(), "--max-bandwidth", "1000");
    assertThat(started.exit()).as(started.err()).isEqualTo(0);
    assertThat(started.out()).startsWith("started: src -> dst ");
    Await.until("QEMU migrates", () -> cli("migrate", "status", "src").out().contains("MIGRATING"));

    Run cancel = cli("migrate", "cancel", "src");
    assertThat(cancel.exit()).as(cancel.err()).isEqualTo(0);
    assertThat(cancel.out()).startsWith("cancel requested: src ");

    Run follow = cli("migrate", "status", "src", "--follow", "--max-time", "30");
    assertThat(follow.exit()).as(follow.out()).isEqualTo(1);
    assertThat(follow.out().lines().reduce((a, b) -> b).orElseThrow()).startsWith("ROLLED_BACK");
    assertThat(follow.err()).startsWith("the migration of src ended ROLLED_BACK");

    Run again = cli("migrate", "cancel", "src");
    assertThat(again.exit()).isEqualTo(1);
    assertThat(again.err().strip()).isEqualTo("nothing to cancel: the migration of src already ended ROLLED_BACK;"
        + " qmp-sidecar migrate status src shows it");
  }

  @QemuTest
  void aUriThePolicyDeniesExitsThreeAndNothingStarts(QemuBinary binary) throws Exception {
    start(binary);
    Run denied = cli("migrate", "start", "src", "--to", "dst", "--uri", "exec:cat");
    assertThat(denied.exit()).isEqualTo(3);
    assertThat(denied.err().strip()).startsWith("Denied by policy: ").contains("rule migrate-named does not allow it");
    assertThat(cli("migrate", "status", "src").exit()).isEqualTo(1);
  }
}
