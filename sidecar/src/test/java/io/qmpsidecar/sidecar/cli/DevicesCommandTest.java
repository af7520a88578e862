package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Usage errors of {@code devices attach}: caught before anything is sent (no sidecar runs here). */
class DevicesCommandTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "vm1 --bdf 0000:03:00.2 --pf 0000:03:00.0 --vf 1 | give one of --bdf, --pf with --vf, or --mdev",
    "vm1 --bdf 0000:03:00.2 --mdev 88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10 | give one of --bdf, --pf with --vf, or --mdev",
    "vm1 --pf 0000:03:00.0                            | --pf and --vf go together: --pf 0000:03:00.0 --vf 2",
    "vm1 --driver e1000e                              | say what to attach: --bdf BDF, --pf BDF --vf N, --mdev UUID, or --driver DRIVER --id ID",
    "vm1 --bdf 0000:03:00.2 --rombar x                | Invalid value for option '--rombar': 'x' is not an int",
    "--bdf 0000:03:00.2                               | Missing required parameter: 'VM'",
  })
  void attachUsageErrorsExitTwoAndNameTheProblem(String args, String message) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    String[] words = ("devices attach " + args.strip() + " --api unix:/nonexistent/api.sock").split(" +");

    assertThat(cli.execute(words)).isEqualTo(2);
    assertThat(err.toString()).startsWith(message);
    assertThat(out.toString()).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "devices detach vm1           | Missing required parameter: 'ID'",
    "devices list                 | Missing required parameter: 'VM'",
    "devices list vm1 --output x  | Invalid value for option '--output'",
    "vms --timeout 0              | --timeout must be >= 1",
  })
  void otherUsageErrorsExitTwo(String args, String message) {
    StringWriter err = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(new StringWriter()));
    cli.setErr(new PrintWriter(err));

    assertThat(cli.execute(args.strip().split(" +"))).isEqualTo(2);
    assertThat(err.toString()).startsWith(message);
  }
}
