package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpsidecar.qmp.QmpEvent;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qmp-sidecar events}: prints the sidecar's events as JSON lines. Without
 * {@code --follow} it prints what the event log holds after {@code --since} and exits once the
 * stream has been quiet for {@link #QUIET}; with {@code --follow} it keeps printing new events.
 * With {@code --qmp} it prints QEMU's own events as they arrive on its QMP socket (QEMU keeps no
 * log: without {@code --follow}, those of the next {@link #LISTEN}).
 */
@Command(
    name = "events",
    mixinStandardHelpOptions = true,
    description = {"Print the sidecar's events as JSON lines (one {id,time,vm,type,opId,data} per line).",
        "With --qmp: QEMU's events from its QMP socket, {time,vm,type,data} with type qmp.NAME."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:printed what the log holds (--qmp: what arrived within 1 s), --limit events, or followed until --max-time",
      "2:usage error",
      "4:cannot reach the sidecar or QEMU, the stream ended or was cut off, or --limit not reached in --max-time"
    })
final class EventsCommand implements Callable<Integer> {
  /** Without --follow: the replay is written at once, so this much silence means it is complete. */
  static final Duration QUIET = Duration.ofMillis(500);
  /** Without --follow, with --qmp: QEMU has no log to replay, so this is how long to listen. */
  static final Duration LISTEN = Duration.ofSeconds(1);
  /** A QEMU event name pattern, as --type takes it with --qmp: STOP, qmp.STOP, BLOCK_*, qmp.*. */
  private static final Pattern QEMU_TYPE = Pattern.compile("(qmp\\.)?[A-Z0-9_]*\\*?");

  /** Where events are read from: the sidecar's stream, or QEMU's socket. */
  interface Source {
    /** The next event or gap notice ({@code {"type":"gap","detail":...}}), or null after {@code wait}. */
    JsonNode next(Duration wait);

    void close();
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;
  @Mixin DirectQmp.Address qmp;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new events until interrupted, --limit or --max-time.")
  boolean follow;

  @Option(names = "--vm", paramLabel = "VM", completionCandidates = Completions.VmNames.class,
      description = "Only this VM (repeatable); with --qmp: the name to print in each line (once at most).")
  List<String> vms = new ArrayList<>();

  @Option(names = "--type", paramLabel = "TYPE", split = ",",
      description = {"Only these types (comma-separated or repeated); a trailing * matches a prefix: qmp.*, detach.*.",
          "With --qmp: QEMU's event names, with or without qmp.: STOP, qmp.DEVICE_DELETED, BLOCK_*."})
  List<String> types = new ArrayList<>();

  @Option(names = "--data", paramLabel = "FIELD=VALUE", description = "Only events whose data FIELD equals VALUE (repeatable).")
  Map<String, String> data = new LinkedHashMap<>();

  @Option(names = "--since", paramLabel = "ID",
      description = "Start after this event id (default: the start of the log; with --follow: new events only).")
  Long since;

  @Option(names = "--limit", paramLabel = "N", description = "Exit after printing N events.")
  Integer limit;

  @Option(names = "--max-time", paramLabel = "SECONDS",
      description = "With --follow: stop after this long (exit 4 when --limit was not reached by then).")
  Long maxTime;

  @Override
  public Integer call() {
    CommandLine cli = spec.commandLine();
    if (limit != null && limit < 1 || maxTime != null && maxTime < 1 || since != null && since < 0) {
      throw new CommandLine.ParameterException(cli, "--limit and --max-time must be >= 1, --since >= 0");
    }
    if (maxTime != null && !follow) {
      throw new CommandLine.ParameterException(cli, "--max-time needs --follow");
    }
    if (qmp.given(cli)) {
      return direct(cli);
    }
    return ApiClient.run(cli, api, client -> {
      long from = since != null ? since : follow ? -1 : 0;
      EventsStream stream = EventsStream.open(client, vms, types, data, from);
      return follow ? follow(stream) : replay(stream);
    });
  }

  private int direct(CommandLine cli) {
    DirectQmp.sidecarOnly(cli, "QEMU keeps no event log; --qmp prints the events that arrive from now on", "--since");
    if (vms.size() > 1) {
      throw new CommandLine.ParameterException(cli, "with --qmp there is one VM: give --vm once at most"
          + " (it names the VM in each line)");
    }
    Predicate<QmpEvent> filter = directFilter(cli);
    return qmp.run(cli, new DirectQmp.Policy(), api.timeoutSeconds, session -> {
      DirectEvents events = DirectEvents.open(session, vms.isEmpty() ? null : vms.get(0), filter);
      if (!follow) {
        return listen(events);
      }
      // Ctrl-C or SIGTERM: finish the line being printed and close the session before the JVM exits.
      Thread hook = new Thread(() -> {
        cli.getOut().flush();
        session.close();
      }, "qmp-sidecar-events-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      try {
        return follow(events);
      } finally {
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is already exiting on a signal: the hook runs, nothing is left to undo.
        }
      }
    });
  }

  /** --type (QEMU's names, qmp. optional) and --data, as the sidecar matches them. */
  private Predicate<QmpEvent> directFilter(CommandLine cli) {
    List<String> names = new ArrayList<>();
    for (String type : types) {
      if (!QEMU_TYPE.matcher(type).matches()) {
        throw new CommandLine.ParameterException(cli, "--type " + type + ": with --qmp only QEMU's events arrive;"
            + " give their names (STOP, qmp.DEVICE_DELETED, BLOCK_*, qmp.*); the sidecar's own events need --api");
      }
      names.add(type.startsWith("qmp.") ? type.substring(4) : type);
    }
    return e -> (names.isEmpty() || names.stream().anyMatch(n -> n.endsWith("*")
        ? e.name().startsWith(n.substring(0, n.length() - 1)) : n.equals(e.name())))
        && data.entrySet().stream().allMatch(d -> d.getValue().equals(e.text(d.getKey())));
  }

  private int replay(Source source) {
    int printed = 0;
    JsonNode e;
    while (!reached(printed) && (e = source.next(QUIET)) != null) {
      printed += print(e);
    }
    source.close();
    return ExitCodes.OK;
  }

  /** Prints what arrives within {@link #LISTEN} (or until --limit). */
  private int listen(Source source) {
    long deadline = System.nanoTime() + LISTEN.toNanos();
    int printed = 0;
    long left;
    while (!reached(printed) && (left = deadline - System.nanoTime()) > 0) {
      JsonNode e = source.next(Duration.ofNanos(left));
      if (e != null) {
        printed += print(e);
      }
    }
    source.close();
    return ExitCodes.OK;
  }

  private int follow(Source source) {
    long deadline = maxTime == null ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(maxTime).toNanos();
    int printed = 0;
    while (!reached(printed)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        source.close();
        if (limit == null) {
          return ExitCodes.OK;
        }
        spec.commandLine().getErr().println("only " + printed + " of --limit " + limit + " events arrived within --max-time "
            + maxTime + " s; check the filters" + (qmp.qmp != null ? " and that QEMU emits such events"
            : " (qmp-sidecar events without --follow shows what the log holds)"));
        return ExitCodes.UNREACHABLE;
      }
      JsonNode e = source.next(Duration.ofNanos(left));
      if (e != null) {
        printed += print(e);
      }
    }
    source.close();
    return ExitCodes.OK;
  }

  private boolean reached(int printed) {
    return limit != null && printed >= limit;
  }

  /** Prints an event on out (a gap notice on err); returns how many events it printed. */
  private int print(JsonNode e) {
    if (e.path("type").asText().equals("gap")) {
      spec.commandLine().getErr().println("gap: " + e.path("detail").asText());
      spec.commandLine().getErr().flush();
      return 0;
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(e);
    out.flush();
    return 1;
  }
}
