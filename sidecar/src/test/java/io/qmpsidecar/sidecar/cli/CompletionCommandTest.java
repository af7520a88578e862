package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code completion} prints a bash script that knows every subcommand and that bash accepts. */
class CompletionCommandTest {

  @Test
  void printsABashScriptWithEverySubcommand(@TempDir Path dir) throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(new StringWriter()));

    assertThat(cli.execute("completion")).isEqualTo(0);
    String script = out.toString();
    assertThat(script).startsWith("#!/usr/bin/env bash")
        .contains("complete -F _complete_qmp-sidecar", "function _picocli_qmp-sidecar_devices_attach()")
        .contains("vms", "events", "completion", "exec", "--follow", "--bdf", "--restore-host-driver");

    Path file = Files.writeString(dir.resolve("qmp-sidecar.bash"), script);
    Process bash = new ProcessBuilder("bash", "-c", "source " + file + " && complete -p qmp-sidecar")
        .redirectErrorStream(true).start();
    assertThat(bash.waitFor(10, TimeUnit.SECONDS)).as("bash finished").isTrue();
    String said = new String(bash.getInputStream().readAllBytes());
    assertThat(bash.exitValue()).as(said).isEqualTo(0);
    assertThat(said).contains("_complete_qmp-sidecar");
  }
}
