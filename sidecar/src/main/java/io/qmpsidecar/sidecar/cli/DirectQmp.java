package io.qmpsidecar.sidecar.cli;

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
import io.qmpsidecar.qmp.QmpCommands;
import io.qmpsidecar.qmp.QmpConnection;
import io.qmpsidecar.qmp.QmpConnectionException;
import io.qmpsidecar.qmp.QmpException;
import io.qmpsidecar.qmp.UnplugOutcome;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The CLI's direct mode ({@code --qmp}): one QMP session with QEMU through qmp-client, on a
 * Vert.x of its own. Each command is decided by {@code --policy}/{@code --preset} as caller
 * {@code cli} before it is sent; every wait happens on the CLI thread (never an event loop) and
 * ends after the timeout. A problem is printed as one line on err with the CLI's exit code:
 * QEMU's error as {@code CLASS: desc} (1), a denial (3), no connection or no answer (4).
 */
final class DirectQmp implements AutoCloseable {

  /** {@code --qmp} of the commands that otherwise talk to a running sidecar. */
  static final class Address {
    @Option(names = "--qmp", paramLabel = "ADDRESS",
        description = "Talk to QEMU's QMP socket directly (unix:PATH or tcp:HOST:PORT) instead of a sidecar.")
    String qmp;

    /**
     * Whether the command runs in direct mode.
     *
     * @throws CommandLine.ParameterException when {@code --qmp} comes with {@code --api} or
     *     {@code --token-file}, or {@code --policy}/{@code --preset} come without {@code --qmp}
     */
    boolean given(CommandLine cli) {
      CommandLine.ParseResult parsed = cli.getParseResult();
      if (qmp != null) {
        for (String api : List.of("--api", "--token-file")) {
          if (parsed.hasMatchedOption(api)) {
            throw new CommandLine.ParameterException(cli, "give either --qmp ADDRESS (QEMU directly) or " + api
                + " (a running sidecar), not both");
          }
        }
        return true;
      }
      for (String option : List.of("--policy", "--preset")) {
        if (parsed.hasMatchedOption(option)) {
          throw new CommandLine.ParameterException(cli, option + " decides what --qmp sends to QEMU; through a"
              + " sidecar, the sidecar's own policy decides: add --qmp ADDRESS or leave out " + option);
        }
      }
      return false;
    }

    /** Runs {@code body} with a session with QEMU at {@code --qmp}, as {@link DirectQmp#run}. */
    int run(CommandLine cli, Policy policy, long timeoutSeconds, ToIntFunction<DirectQmp> body) {
      if (timeoutSeconds < 1) {
        throw new CommandLine.ParameterException(cli, "--timeout must be >= 1");
      }
      return DirectQmp.run(cli, parse(cli, qmp), policy, Duration.ofSeconds(timeoutSeconds), body);
    }
  }

  /** {@code --policy} and {@code --preset}: decide each command as caller {@code cli} before sending it. */
  static final class Policy {
    @Option(names = "--policy", paramLabel = "FILE",
        description = "Decide each command sent to QEMU over --qmp with this policy (as caller cli) before sending it.")
    Path file;

    @Option(names = "--preset", paramLabel = "NAME",
        description = "Like --policy, with a preset shipped with qmp-sidecar: default, dpu.")
    String preset;
  }

  /**
   * Refuses options that only a running sidecar can honour.
   *
   * @param why what makes them the sidecar's, e.g. "the sidecar keeps the operation ids"
   */
  static void sidecarOnly(CommandLine cli, String why, String... options) {
    for (String option : options) {
      if (cli.getParseResult().hasMatchedOption(option)) {
        throw new CommandLine.ParameterException(cli, option + " needs a running sidecar (" + why
            + "); leave it out with --qmp, or use --api");
      }
    }
  }

  /** {@code value}, or a usage error naming the missing parameter. */
  static String required(CommandLine cli, String value, String label) {
    if (value == null) {
      throw new CommandLine.ParameterException(cli, "Missing required parameter: '" + label + "'");
    }
    return value;
  }

  static QmpAddress parse(CommandLine cli, String text) {
    try {
      return QmpAddress.parse(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cli, e.getMessage());
    }
  }

  /**
   * Loads the policy, runs {@code body} with a session (connected on first use) and closes it.
   * A failure reaches the command line's handler ({@link CliFailures}): QEMU's refusal as
   * {@code CLASS: desc}, QEMU's text unchanged.
   */
  static int run(CommandLine cli, QmpAddress address, Policy policy, Duration timeout, ToIntFunction<DirectQmp> body) {
    if (policy.file != null && policy.preset != null) {
      throw new CommandLine.ParameterException(cli, "give either --policy FILE or --preset NAME, not both");
    }
    PolicyEngine engine = null;
    try {
      if (policy.file != null || policy.preset != null) {
        engine = new PolicyEngine(policy.file != null ? Policies.load(policy.file) : Policies.preset(policy.preset),
            AuditSink.NONE, Clock.systemUTC());
      }
    } catch (PolicyLoadException e) {
      PolicyCommand.printInvalid(e, cli.getErr());
      return ExitCodes.USAGE;
    }
    try (DirectQmp session = new DirectQmp(address, engine, timeout)) {
      return body.applyAsInt(session);
    } finally {
      cli.getOut().flush();
    }
  }

  private final QmpAddress address;
  private final PolicyEngine policy;
  private final Duration timeout;
  private final Vertx vertx = Vertx.vertx();
  private final QmpClient client;
  private final AtomicBoolean closed = new AtomicBoolean();
  private QmpConnection connection;

  private DirectQmp(QmpAddress address, PolicyEngine policy, Duration timeout) {
    this.address = address;
    this.policy = policy;
    this.timeout = timeout;
    this.client = QmpClient.create(vertx, QmpClientOptions.of(address)
        .withConnectTimeout(timeout).withGreetingTimeout(timeout).withCommandTimeout(timeout));
  }

  QmpAddress address() {
    return address;
  }

  Duration timeout() {
    return timeout;
  }

  /** How messages name the VM: by the name the user gave, else as QEMU at the address. */
  String who(String vm) {
    return vm != null ? vm : "QEMU at " + address;
  }

  /** The session, connected and negotiated on first use. */
  QmpConnection connection() {
    return connect(c -> { });
  }

  /**
   * Connects on first use; {@code beforeOpen} gets the connection on its event loop before the
   * socket opens (to subscribe to events without missing any), and must not block.
   */
  QmpConnection connect(Consumer<QmpConnection> beforeOpen) {
    if (connection == null) {
      connection = await(client.connect(beforeOpen));
    }
    return connection;
  }

  /**
   * Decides the command with {@code --policy}/{@code --preset}, when one was given.
   *
   * @throws SidecarException {@code DENIED} with the decision when the policy denies it
   */
  void decide(QmpCommand<?> command) {
    if (policy == null) {
      return;
    }
    Decision decision = policy.decide(PolicyRequest.of(Caller.cli(), command.name(), command.arguments()));
    if (!decision.allowed()) {
      throw SidecarException.of(Kind.DENIED, "policy-denied", decision.toString()).build();
    }
  }

  /** Decides the command, sends it and waits for QEMU's answer. */
  <T> T call(QmpCommand<T> command) {
    decide(command);
    return send(command);
  }

  /** Sends a command {@link #decide} allowed and waits for QEMU's answer. */
  <T> T send(QmpCommand<T> command) {
    return await(connection().execute(command));
  }

  /**
   * Decides {@code device_del}, sends it and waits up to {@code wait} for QEMU's
   * {@code DEVICE_DELETED}.
   *
   * @return DELETED, or PENDING when the guest has not released the device within the wait
   */
  UnplugOutcome deviceDel(String idOrPath, Duration wait) {
    decide(QmpCommands.deviceDel(idOrPath));
    return await(connection().deviceDel(idOrPath, wait), timeout.plus(wait));
  }

  /** Waits for QEMU at most the timeout (and a second for the client's own timers to fire first). */
  <T> T await(Future<T> future) {
    return await(future, timeout);
  }

  private <T> T await(Future<T> future, Duration wait) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(wait.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof QmpCommandException q) {
        throw SidecarException.of(Kind.QEMU_ERROR, "qemu-error", q.errorClass() + ": " + q.description()).cause(q)
            .build();
      }
      if (e.getCause() instanceof QmpException q) {
        throw q;
      }
      throw new QmpConnectionException("QMP call to " + address + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new QmpConnectionException("no answer from QEMU at " + address + " within " + wait.toSeconds()
          + " s: check that QEMU runs and is not stopped, or raise --timeout");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QmpConnectionException("interrupted while waiting for QEMU at " + address);
    }
  }

  /** Closes the session and its Vert.x, waiting at most the timeout; safe to call twice. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      client.close().eventually(vertx::close).toCompletionStage().toCompletableFuture()
          .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(e -> null).join();
    }
  }
}
