package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.SchemaViolation;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code qmp-sidecar exec}: runs one QMP command on a QMP socket and prints QEMU's reply. */
@Command(
    name = "exec",
    mixinStandardHelpOptions = true,
    description = "Run one QMP command directly on a QEMU monitor socket and print its return value.",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:QEMU ran the command",
      "1:QEMU answered with an error (its class and text are printed)",
      "2:usage error, or arguments that do not fit QEMU's schema (--validate)",
      "3:denied by the policy (--policy/--preset)",
      "4:cannot connect to QEMU, or no reply in time"
    })
public final class ExecCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin DirectQmp.Policy policy;

  @Option(names = "--qmp", required = true, paramLabel = "ADDRESS",
      description = "QEMU's QMP socket: unix:PATH or tcp:HOST:PORT.")
  String qmp;

  @Parameters(index = "0", paramLabel = "COMMAND", description = "QMP command name, e.g. query-status.")
  String command;

  @Parameters(index = "1..*", paramLabel = "KEY=VALUE",
      description = "Arguments, qmp-shell style: values are JSON when they parse, else strings;"
          + " a.b=1 nests.")
  List<String> words = new ArrayList<>();

  @Option(names = "--json", paramLabel = "OBJECT",
      description = "The arguments as one JSON object instead of KEY=VALUE words.")
  String json;

  @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "json",
      description = "json (default) or table.")
  ExecOutput.Format output;

  @Option(names = "--validate",
      description = "Check the arguments against QEMU's schema before sending; print each violation.")
  boolean validate;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
      description = "Longest wait for connecting and for the reply (default 10).")
  long timeoutSeconds;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (timeoutSeconds < 1) {
      throw new CommandLine.ParameterException(cli, "--timeout must be >= 1");
    }
    ObjectNode arguments;
    try {
      arguments = ExecArguments.parse(words, json);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cli, e.getMessage());
    }
    QmpCommand<JsonNode> request = QmpCommand.raw(command, arguments);
    return DirectQmp.run(cli, DirectQmp.parse(cli, qmp), policy, Duration.ofSeconds(timeoutSeconds), session -> {
      // Decided before connecting: a denied command is never sent, whether or not QEMU is there.
      session.decide(request);
      if (validate) {
        List<SchemaViolation> violations = session.await(session.connection().schema()).validate(command, arguments);
        if (!violations.isEmpty()) {
          PrintWriter err = cli.getErr();
          violations.forEach(v -> err.println("invalid: " + v));
          err.println(violations.size() + (violations.size() == 1 ? " violation" : " violations")
              + " of QEMU's schema; nothing was sent");
          err.flush();
          return ExitCodes.USAGE;
        }
      }
      cli.getOut().println(ExecOutput.render(session.send(request), output));
      return ExitCodes.OK;
    });
  }
}
