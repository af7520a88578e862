package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

/** Usage errors of {@code migrate}: caught before anything is sent (no sidecar runs here). */
class MigrateCommandTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
    "migrate start src --uri tcp:127.0.0.1:4444                        | Missing required option: '--to=DEST_VM'",
    "migrate start src --to dst                                        | Missing required option: '--uri=URI'",
    "migrate start src --to dst --uri tcp:h:1 --max-bandwidth 0        | --max-bandwidth and --downtime-limit must be >= 1",
    "migrate status src --follow --max-time 0                          | --max-time must be >= 1",
    "migrate cancel                                                    | Missing required parameter: 'VM'",
  })
  void usageErrorsExitTwoAndNameTheProblem(String args, String message) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    String[] words = (args.strip() + " --api unix:/nonexistent/api.sock").split(" +");

    assertThat(cli.execute(words)).isEqualTo(2);
    assertThat(err.toString()).startsWith(message);
    assertThat(out.toString()).isEmpty();
  }
}
