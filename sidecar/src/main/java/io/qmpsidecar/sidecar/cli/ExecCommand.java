package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.policy.AuditSink;
import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Decision;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.policy.PolicyEngine;
import io.qmpsidecar.policy.PolicyLoadException;
import io.qmpsidecar.policy.PolicyRequest;
import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.qmp.QmpClient;
import io.qmpsidecar.qmp.QmpClientOptions;
import io.qmpsidecar.qmp.QmpCommand;
import io.qmpsidecar.qmp.QmpCommandException;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpException;
import io.qmpsidecar.qmp.QmpTimeoutException;
import io.qmpsidecar.qmp.SchemaViolation;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
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

  public static final int OK = 0;
  public static final int QEMU_ERROR = 1;
  public static final int USAGE = 2;
  public static final int DENIED = 3;
  public static final int UNREACHABLE = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

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

  @Option(names = "--policy", paramLabel = "FILE",
      description = "Decide the command with this policy (as caller cli) before sending it.")
  Path policy;

  @Option(names = "--preset", paramLabel = "NAME",
      description = "Like --policy, with a preset shipped with qmp-sidecar: default, dpu.")
  String preset;

  @Option(names = "--validate",
      description = "Check the arguments against QEMU's schema before sending; print each violation.")
  boolean validate;

  @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
      description = "Longest wait for connecting and for the reply (default 10).")
  long timeoutSeconds;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (timeoutSeconds < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be >= 1");
    }
    if (policy != null && preset != null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "give either --policy FILE or --preset NAME, not both");
    }
    QmpAddress address;
    ObjectNode arguments;
    try {
      address = QmpAddress.parse(qmp);
      arguments = ExecArguments.parse(words, json);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (policy != null || preset != null) {
      Decision decision;
      try {
        PolicyEngine engine = new PolicyEngine(policy != null ? Policies.load(policy)
            : Policies.preset(preset), AuditSink.NONE, Clock.systemUTC());
        decision = engine.decide(PolicyRequest.of(Caller.cli(), command, arguments));
      } catch (PolicyLoadException e) {
        PolicyCommand.printInvalid(e, err);
        return USAGE;
      }
      if (!decision.allowed()) {
        err.println(decision);
        err.flush();
        return DENIED;
      }
    }
    Duration timeout = Duration.ofSeconds(timeoutSeconds);
    Vertx vertx = Vertx.vertx();
    try {
      return run(vertx, address, arguments, timeout, out, err);
    } finally {
      vertx.close();
    }
  }

  private int run(Vertx vertx, QmpAddress address, ObjectNode arguments, Duration timeout,
      PrintWriter out, PrintWriter err) {
    QmpClient client = QmpClient.create(vertx, QmpClientOptions.of(address)
        .withConnectTimeout(timeout).withGreetingTimeout(timeout).withCommandTimeout(timeout));
    try {
      QmpConnection connection = await(client.connect(), timeout);
      if (validate) {
        List<SchemaViolation> violations = await(connection.schema(), timeout)
            .validate(command, arguments);
        if (!violations.isEmpty()) {
          violations.forEach(v -> err.println("invalid: " + v));
          err.println(violations.size() + (violations.size() == 1 ? " violation" : " violations")
              + " of QEMU's schema; nothing was sent");
          err.flush();
          return USAGE;
        }
      }
      JsonNode value = await(connection.execute(QmpCommand.raw(command, arguments)), timeout);
      out.println(ExecOutput.render(value, output));
      out.flush();
      return OK;
    } catch (QmpCommandException e) {
      err.println(e.errorClass() + ": " + e.description());
      err.flush();
      return QEMU_ERROR;
    } catch (QmpConnectionException | QmpTimeoutException e) {
      err.println(e.getMessage());
      err.flush();
      return UNREACHABLE;
    } finally {
      client.close();
    }
  }

  /** Waits on the calling (non-event-loop) thread, never longer than the timeout plus a second. */
  private static <T> T await(Future<T> future, Duration timeout) {
    try {
      return future.toCompletionStage().toCompletableFuture()
          .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof QmpException q) {
        throw q;
      }
      throw new QmpConnectionException("QMP call failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new QmpConnectionException("no answer from QEMU within " + timeout.toSeconds()
          + " s: check that QEMU runs and is not stopped, or raise --timeout");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QmpConnectionException("interrupted while waiting for QEMU");
    }
  }
}
