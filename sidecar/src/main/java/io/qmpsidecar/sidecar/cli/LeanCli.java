package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.sidecar.failure.SidecarException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The lean path of the common read calls and of the daemon, for {@code bin/qmp-sidecar} to start
 * instead of the whole command line: {@code version}, and {@code vms} (also {@code --names}, which
 * the shell completion asks), {@code devices list VM} and
 * {@code migrate status VM} (with {@code --output}, {@code --timeout} and a {@code unix:}
 * {@code --api}), parsed by hand and sent with {@link UnixHttp}: no Vert.x, no Netty, no picocli
 * command tree to build. It prints what those commands print, through the same code, with the
 * same exit codes. {@code run} with its usual options ({@link #daemon}) runs {@link RunCommand}
 * without picocli, whose model cost the daemon 140-230 ms of its start-up (bench/README.md).
 * Every other command line, and a call whose connection fails (for the usual
 * message about the cause), runs the full command line ({@link QmpSidecarCommand}) in the same
 * JVM, before anything is printed.
 */
public final class LeanCli {
  /** What {@link #run} returns when the full command line must run the call. */
  static final int NOT_HANDLED = -1;
  private static final Set<String> OPTIONS = Set.of("--api", "--timeout", "--output");
  /** {@code run}'s options with a value. */
  private static final Set<String> RUN_OPTIONS = Set.of("-c", "--config", "--set", "--qmp");
  /** The one option without a value: {@code vms --names}. */
  private static final String NAMES = "--names";

  private LeanCli() {}

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out);
    PrintWriter err = new PrintWriter(System.err);
    RunCommand daemon = daemon(args, System.getenv());
    int exit = daemon != null ? runDaemon(daemon, err) : run(args, System.getenv(), out, err);
    if (exit == NOT_HANDLED) {
      QmpSidecarCommand.main(args);
      return;
    }
    System.exit(exit);
  }

  /** One call this path makes: where, and what it prints for the answer's body (its lines, each ended). */
  private record Call(String api, Duration timeout, String uri, Function<JsonNode, String> text) {}

  /**
   * Runs {@code args} if this path handles them.
   *
   * @param env the environment ({@code QMP_SIDECAR_API}, {@code QMP_SIDECAR_DEBUG})
   * @return the exit code, or {@link #NOT_HANDLED} with nothing printed
   */
  static int run(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    if ("1".equals(env.get("QMP_SIDECAR_DEBUG"))) {
      return NOT_HANDLED;
    }
    if (List.of(args).equals(List.of("version"))) {
      out.print(VersionCommand.text());
      out.flush();
      return ExitCodes.OK;
    }
    Call call = parse(args, env);
    if (call == null) {
      return NOT_HANDLED;
    }
    try {
      out.print(call.text().apply(UnixHttp.get(call.api(), Path.of(UnixHttp.unixPath(call.api())), call.uri(),
          call.timeout()).body()));
      out.flush();
      return ExitCodes.OK;
    } catch (SidecarException e) {
      err.println(e.getMessage());
      err.flush();
      return CliFailures.exitCode(e.kind());
    } catch (IOException | RuntimeException e) {
      // Not connected, cut short, or an answer the commands cannot print: the full command line
      // asks again (a read changes nothing) and reports it as it always does.
      return NOT_HANDLED;
    }
  }

  /**
   * {@code run} with its options set as picocli would set them, or null for a command line this
   * path does not take exactly as picocli would: anything but {@code -c}/{@code --config},
   * {@code --set}, {@code --qmp} (each {@code NAME VALUE} or {@code --NAME=VALUE}, the value not
   * empty and not starting with {@code -} or {@code @}), {@code -v}/{@code --verbose} and
   * {@code --exit-when-ready}; an option picocli takes once, given twice; {@code QMP_SIDECAR_DEBUG=1}.
   */
  static RunCommand daemon(String[] args, Map<String, String> env) {
    if (args.length == 0 || !args[0].equals("run") || "1".equals(env.get("QMP_SIDECAR_DEBUG"))) {
      return null;
    }
    RunCommand run = new RunCommand();
    run.config = new ConfigOptions();
    for (int i = 1; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-v") || arg.equals("--verbose")) {
        if (run.verbose) {
          return null;
        }
        run.verbose = true;
        continue;
      }
      if (arg.equals("--exit-when-ready")) {
        if (run.exitWhenReady) {
          return null;
        }
        run.exitWhenReady = true;
        continue;
      }
      Option option = option(args, i, RUN_OPTIONS);
      if (option == null) {
        return null;
      }
      i = option.last();
      switch (option.name()) {
        case "--set" -> run.config.sets.add(option.value());
        case "--qmp" -> run.config.qmp.add(option.value());
        default -> {
          if (run.config.file != null || !isPath(option.value())) {
            return null;
          }
          run.config.file = Path.of(option.value());
        }
      }
    }
    return run;
  }

  /** An option with its value, which ends at {@code args[last]}. */
  private record Option(String name, String value, int last) {}

  /**
   * The option at {@code args[i]} and its value ({@code NAME VALUE}, or {@code --NAME=VALUE}), or
   * null where picocli might read it otherwise: a name not in {@code names}, no value, or one that
   * is empty or starts with {@code -} or {@code @}.
   */
  private static Option option(String[] args, int i, Set<String> names) {
    String arg = args[i];
    int eq = arg.startsWith("--") ? arg.indexOf('=') : -1;
    String name = eq < 0 ? arg : arg.substring(0, eq);
    if (!names.contains(name) || eq < 0 && i + 1 == args.length) {
      return null;
    }
    String value = eq < 0 ? args[i + 1] : arg.substring(eq + 1);
    if (value.isEmpty() || value.startsWith("-") || value.startsWith("@")) {
      return null;
    }
    return new Option(name, value, eq < 0 ? i + 1 : i);
  }

  /** Whether picocli would take {@code value} as a path (else it names the option in its error). */
  private static boolean isPath(String value) {
    try {
      Path.of(value);
      return true;
    } catch (InvalidPathException e) {
      return false;
    }
  }

  /** Runs the daemon until it stops; a failure is printed and turned into its exit code as picocli's path does. */
  private static int runDaemon(RunCommand daemon, PrintWriter err) {
    try {
      return daemon.run(err);
    } catch (Exception e) {
      return CliFailures.report(e, true, err);
    }
  }

  /** The call, or null for a command line this path does not take exactly as picocli would. */
  private static Call parse(String[] args, Map<String, String> env) {
    int words = args.length >= 2 && (args[0].equals("devices") && args[1].equals("list")
        || args[0].equals("migrate") && args[1].equals("status")) ? 2 : args.length >= 1 && args[0].equals("vms") ? 1 : 0;
    if (words == 0) {
      return null;
    }
    Map<String, String> options = new HashMap<>();
    List<String> positional = new ArrayList<>();
    boolean names = false;
    for (int i = words; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals(NAMES) && words == 1 && !names) {
        names = true;
        continue;
      }
      // picocli reads @FILE as more arguments, and -x, -- and --help are its own.
      if (arg.startsWith("@")) {
        return null;
      }
      if (!arg.startsWith("-")) {
        positional.add(arg);
        continue;
      }
      Option option = option(args, i, OPTIONS);
      if (option == null || options.containsKey(option.name())) {
        return null;
      }
      i = option.last();
      options.put(option.name(), option.value());
    }
    ExecOutput.Format output = format(options.getOrDefault("--output", "table"));
    String api = options.getOrDefault("--api", env.getOrDefault("QMP_SIDECAR_API", ApiClient.DEFAULT_API));
    long timeout = seconds(options.getOrDefault("--timeout", "10"));
    if (output == null || UnixHttp.unixPath(api) == null || timeout < 1
        || positional.size() != (words == 1 ? 0 : 1)) {
      return null;
    }
    Duration wait = Duration.ofSeconds(timeout);
    if (words == 1) {
      return new Call(api, wait, "/v1/vms", names ? VmsCommand::names : vms -> line(VmsCommand.text(vms, output)));
    }
    String vm = positional.get(0);
    return args[0].equals("devices")
        ? new Call(api, wait, DevicesCommand.vmPath(vm) + "/devices", list -> line(DevicesCommand.listText(vm, list, output)))
        : new Call(api, wait, MigrateCommand.path(vm) + "/migration", run -> line(MigrateCommand.statusText(run, output)));
  }

  private static String line(String text) {
    return text + System.lineSeparator();
  }

  private static ExecOutput.Format format(String name) {
    for (ExecOutput.Format f : ExecOutput.Format.values()) {
      if (f.name().equals(name)) {
        return f;
      }
    }
    return null;
  }

  /** The seconds, or 0 for what picocli would refuse. */
  private static long seconds(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
