package io.qmpsidecar.sidecar.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.testing.CliRunner;
import io.qmpsidecar.sidecar.testing.CliRunner.Run;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command of the tree takes {@code -V} and {@code --help} (exit 0, on stdout), and usage
 * errors exit 2 with the usage on stderr, as docs/cli.md says: no command at all, an unknown one.
 */
class CommandTreeTest {

  /** Every command below the top, as the words that name it. */
  private static List<List<String>> commands(CommandLine cli, List<String> above) {
    List<List<String>> all = new ArrayList<>();
    cli.getSubcommands().forEach((name, sub) -> {
      if (!name.equals("help") && sub.getCommandName().equals(name)) {
        List<String> path = new ArrayList<>(above);
        path.add(name);
        all.add(path);
        all.addAll(commands(sub, path));
      }
    });
    return all;
  }

  private static Run run(List<String> words, String option) {
    List<String> args = new ArrayList<>(words);
    args.add(option);
    return CliRunner.run(args.toArray(String[]::new));
  }

  @Test
  void everyCommandTakesVersionAndHelp() {
    List<List<String>> commands = commands(QmpSidecarCommand.commandLine(), List.of());
    assertThat(commands).contains(List.of("version"), List.of("devices", "detach"), List.of("config", "check"))
        .hasSizeGreaterThan(20);
    for (List<String> command : commands) {
      Run version = run(command, "-V");
      assertThat(version.exit()).as("%s -V: %s", command, version.err()).isZero();
      assertThat(version.out()).as("%s -V", command).startsWith("qmp-sidecar ");
      Run help = run(command, "--help");
      assertThat(help.exit()).as("%s --help: %s", command, help.err()).isZero();
      assertThat(help.out()).as("%s --help", command).startsWith("Usage: qmp-sidecar " + String.join(" ", command));
    }
  }

  @Test
  void theDaemonsOwnCommandLineTakesVersionToo() {
    StringWriter out = new StringWriter();
    CommandLine daemon = QmpSidecarCommand.daemonCommandLine();
    daemon.setOut(new PrintWriter(out, true));
    assertThat(daemon.execute("run", "-V")).isZero();
    assertThat(out.toString()).startsWith("qmp-sidecar ");
  }

  @Test
  void noCommandAndAnUnknownOneAreUsageErrors() {
    Run bare = CliRunner.run();
    assertThat(bare.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(bare.out()).isEmpty();
    assertThat(bare.err()).startsWith("qmp-sidecar needs a command").contains("Usage: qmp-sidecar");
    Run unknown = CliRunner.run("frobnicate");
    assertThat(unknown.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(unknown.err()).contains("Unmatched argument at index 0: 'frobnicate'");
  }
}
