package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code qmp-sidecar exec} against a real QEMU, once per QEMU version. */
class ExecCommandIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();
  private QemuProcess qemu;

  @AfterEach
  void stopQemu() {
    if (qemu != null) {
      qemu.close();
    }
  }

  private String qmp(QemuBinary binary) {
    qemu = QemuProcess.startQtest(binary, dir, "vm", 1);
    return qemu.qmpAddress().toString();
  }

  private int run(String... args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args);
  }

  @QemuTest
  void printsQemusReturnValue(QemuBinary binary) throws Exception {
    assertThat(run("exec", "--qmp", qmp(binary), "query-status")).isEqualTo(0);
    assertThat(JSON.readTree(out.toString()).get("status").asText()).isEqualTo("running");
    assertThat(err.toString()).isEmpty();
  }

  @QemuTest
  void keyValueArgumentsAndATable(QemuBinary binary) {
    assertThat(run("exec", "--qmp", qmp(binary), "--output", "table", "qom-get",
        "path=/machine/peripheral/rp1", "property=type")).isEqualTo(0);
    assertThat(out.toString().trim()).isEqualTo("pcie-root-port");
  }

  @QemuTest
  void jsonArguments(QemuBinary binary) throws Exception {
    assertThat(run("exec", "--qmp", qmp(binary), "--json", "{\"path\":\"/machine/peripheral\"}",
        "qom-list")).isEqualTo(0);
    assertThat(JSON.readTree(out.toString()).findValuesAsText("name")).contains("rp1");
  }

  @QemuTest
  void aQemuErrorPrintsItsClassAndTextAndExitsOne(QemuBinary binary) {
    assertThat(run("exec", "--qmp", qmp(binary), "device_del", "id=ghost")).isEqualTo(1);
    assertThat(err.toString().trim()).isEqualTo("DeviceNotFound: Device 'ghost' not found");
    assertThat(out.toString()).isEmpty();
  }

  @QemuTest
  void validateNamesEachViolationAndSendsNothing(QemuBinary binary) {
    String address = qmp(binary);
    assertThat(run("exec", "--qmp", address, "--validate", "migrate-set-capabilities",
        "--json", "{\"capabilities\":[{\"capability\":\"events\",\"state\":\"true\"}]}"))
        .isEqualTo(2);
    assertThat(err.toString().lines()).containsExactly(
        "invalid: arguments.capabilities[0].state: expected boolean, got string \"true\"",
        "1 violation of QEMU's schema; nothing was sent");
  }

  @QemuTest
  void aPolicyDenialExitsThreeAndQemuKeepsRunning(QemuBinary binary) throws Exception {
    Path policy = Files.writeString(dir.resolve("p.yaml"), ExecCommandTest.NO_QUIT);
    assertThat(run("exec", "--qmp", qmp(binary), "--policy", policy.toString(), "quit"))
        .isEqualTo(3);
    assertThat(err.toString().trim()).isEqualTo("DENY by rule no-quit: keep the VM");
    assertThat(qemu.isAlive()).isTrue();
  }
}
