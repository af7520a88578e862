package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Usage errors and early refusals of the subcommands' --qmp mode: none of them reaches a socket. */
class DirectQmpCommandTest {
  static final String NO_DEVICE_DEL = "version: 1\nname: no-device-del\nrules:\n"
      + "  - {id: keep-devices, effect: deny, callers: [cli], commands: [device_del], reason: devices stay}\n"
      + "  - {id: rest, effect: allow, callers: [cli], commands: ['*']}\n";

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int run(String args) {
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    return cli.execute(args.strip().split(" +"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "vms --qmp unix:/nonexistent/q --api unix:/nonexistent/a                | give either --qmp ADDRESS (QEMU directly) or --api (a running sidecar), not both",
    "devices list --qmp unix:/nonexistent/q --token-file /nonexistent/t     | give either --qmp ADDRESS (QEMU directly) or --token-file (a running sidecar), not both",
    "migrate status vm1 --preset dpu --api unix:/nonexistent/a              | --preset decides what --qmp sends to QEMU; through a sidecar, the sidecar's own policy decides",
    "vms --qmp http://host:1                                                 | QMP address 'http://host:1' must be unix:PATH or tcp:HOST:PORT",
    "vms --qmp tcp:host                                                      | QMP address 'tcp:host' needs tcp:HOST:PORT",
    "vms --qmp unix:/nonexistent/q --timeout 0                               | --timeout must be >= 1",
    "vms --qmp unix:/nonexistent/q --policy /nonexistent/p --preset dpu      | give either --policy FILE or --preset NAME, not both",
    "events --qmp unix:/nonexistent/q --since 3                              | --since needs a running sidecar (QEMU keeps no event log",
    "events --qmp unix:/nonexistent/q --vm a --vm b                          | with --qmp there is one VM: give --vm once at most",
    "events --qmp unix:/nonexistent/q --type detach.*                        | --type detach.*: with --qmp only QEMU's events arrive",
    "events --qmp unix:/nonexistent/q --type stop                            | --type stop: with --qmp only QEMU's events arrive",
    "events --qmp unix:/nonexistent/q --max-time 3                           | --max-time needs --follow",
    "devices detach --qmp unix:/nonexistent/q                                | Missing required parameter: 'ID'",
    "devices detach --qmp unix:/nonexistent/q nic1 --op-id op-9              | --op-id needs a running sidecar (it keeps the host driver and the operation ids); leave it out with --qmp, or use --api",
    "devices detach vm1 nic1 --qmp unix:/nonexistent/q --restore-host-driver | --restore-host-driver needs a running sidecar",
    "devices attach vm1 --driver e1000e --id nic1 --qmp unix:/nonexistent/q  | devices attach has no --qmp mode: attaching is the sidecar's job",
    "migrate start --qmp unix:/nonexistent/q --uri tcp:127.0.0.1:1 --to vm2  | --to needs a running sidecar (only the sidecar knows the destination VM",
    "migrate start --qmp unix:/nonexistent/q --uri tcp:127.0.0.1:1 --strategy block | --strategy needs a running sidecar",
    "migrate start --qmp unix:/nonexistent/q                                 | Missing required option: '--uri=URI'",
    "migrate status --qmp unix:/nonexistent/q --follow --max-time 0          | --max-time must be >= 1",
    "migrate start --uri tcp:127.0.0.1:1 --to vm2 --api unix:/nonexistent/a  | Missing required parameter: 'VM'",
  })
  void usageErrorsExitTwoAndNameTheProblem(String args, String message) {
    assertThat(run(args)).as(err.toString()).isEqualTo(2);
    assertThat(err.toString()).startsWith(message);
    assertThat(out.toString()).isEmpty();
  }

  @Test
  void attachNamesWhatToUseInstead() {
    assertThat(run("devices attach vm1 --driver e1000e --id nic1 --qmp unix:/run/qemu/vm1.qmp")).isEqualTo(2);
    assertThat(err.toString().lines().findFirst().orElseThrow()).endsWith("Attach through a running sidecar"
        + " (qmp-sidecar devices attach VM ...), or add an emulated device yourself: qmp-sidecar exec --qmp"
        + " unix:/run/qemu/vm1.qmp device_add driver=e1000e id=nic1 bus=rp1");
  }

  @Test
  void aUriTheSidecarWouldRefuseIsRefusedBeforeConnecting() {
    assertThat(run("migrate start vm1 --qmp unix:/nonexistent/q --uri exec:cat")).isEqualTo(1);
    assertThat(err.toString().strip()).isEqualTo("The migration was refused: migration of vm1 refused: migration URI"
        + " 'exec:cat' is not allowed; use one of [rdma:, tcp:, unix:]");
  }

  @Test
  void aDeniedDetachIsNeverSent(@TempDir Path dir) throws Exception {
    Path policy = Files.writeString(dir.resolve("p.yaml"), NO_DEVICE_DEL);
    // The socket does not exist: exit 3, not 4, shows that the policy decided before connecting.
    assertThat(run("devices detach --qmp unix:/nonexistent/q nic1 --policy " + policy)).isEqualTo(3);
    assertThat(err.toString().strip()).isEqualTo("DENY by rule keep-devices: devices stay");
  }

  @Test
  void anInvalidPolicyFileExitsTwoAsInExec(@TempDir Path dir) throws Exception {
    Path policy = Files.writeString(dir.resolve("p.yaml"), "version: 1\nrules: nope\n");
    assertThat(run("vms --qmp unix:/nonexistent/q --policy " + policy)).isEqualTo(2);
    assertThat(err.toString()).contains("INVALID: " + policy);
  }

  @Test
  void aMissingSocketExitsFourNamingIt(@TempDir Path dir) {
    assertThat(run("migrate status --qmp unix:" + dir.resolve("none.qmp") + " --timeout 2")).isEqualTo(4);
    assertThat(err.toString()).startsWith("cannot connect to QEMU's QMP socket at unix:" + dir.resolve("none.qmp"));
  }
}
