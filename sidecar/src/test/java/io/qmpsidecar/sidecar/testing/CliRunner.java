package io.qmpsidecar.sidecar.testing;

import io.qmpsidecar.sidecar.cli.QmpSidecarCommand;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/** Runs the {@code qmp-sidecar} command line in-process, its out and err captured. */
public final class CliRunner {
  /** One run: the exit code and what it printed on out and err. */
  public record Run(int exit, String out, String err) {
    /** The lines of out, then those of err. */
    public List<String> lines() {
      List<String> all = new ArrayList<>(out.lines().toList());
      all.addAll(err.lines().toList());
      return all;
    }
  }

  private CliRunner() {}

  public static Run run(String... args) {
    return run(new StringWriter(), args);
  }

  /** With {@code out} given, so that a test can read it while the command still runs. */
  public static Run run(StringWriter out, String... args) {
    StringWriter err = new StringWriter();
    CommandLine cli = QmpSidecarCommand.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }
}
