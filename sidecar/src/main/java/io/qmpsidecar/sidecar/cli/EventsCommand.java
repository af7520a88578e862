package io.qmpsidecar.sidecar.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code qmp-sidecar events}: prints the sidecar's events as JSON lines. Without
 * {@code --follow} it prints what the event log holds after {@code --since} and exits once the
 * stream has been quiet for {@link #QUIET}; with {@code --follow} it keeps printing new events.
 */
@Command(
    name = "events",
    mixinStandardHelpOptions = true,
    description = "Print the sidecar's events as JSON lines (one {id,time,vm,type,opId,data} per line).",
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
      "0:printed what the log holds, --limit events, or followed until --max-time",
      "2:usage error",
      "4:cannot reach the sidecar, the stream ended or was cut off, or --limit not reached in --max-time"
    })
final class EventsCommand implements Callable<Integer> {
  /** Without --follow: the replay is written at once, so this much silence means it is complete. */
  static final Duration QUIET = Duration.ofMillis(500);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin ApiClient.Options api;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new events until interrupted, --limit or --max-time.")
  boolean follow;

  @Option(names = "--vm", paramLabel = "VM", description = "Only this VM (repeatable).")
  List<String> vms = new ArrayList<>();

  @Option(names = "--type", paramLabel = "TYPE", split = ",",
      description = "Only these types (comma-separated or repeated); a trailing * matches a prefix: qmp.*, detach.*.")
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
    if (limit != null && limit < 1 || maxTime != null && maxTime < 1 || since != null && since < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--limit and --max-time must be >= 1, --since >= 0");
    }
    if (maxTime != null && !follow) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--max-time needs --follow");
    }
    return ApiClient.run(spec.commandLine(), api, client -> {
      long from = since != null ? since : follow ? -1 : 0;
      EventsStream stream = EventsStream.open(client, vms, types, data, from);
      return follow ? follow(stream) : replay(stream);
    });
  }

  private int replay(EventsStream stream) {
    int printed = 0;
    JsonNode e;
    while (!reached(printed) && (e = stream.next(QUIET)) != null) {
      printed += print(e);
    }
    stream.close();
    return ExitCodes.OK;
  }

  private int follow(EventsStream stream) {
    long deadline = maxTime == null ? Long.MAX_VALUE : System.nanoTime() + Duration.ofSeconds(maxTime).toNanos();
    int printed = 0;
    while (!reached(printed)) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        stream.close();
        if (limit == null) {
          return ExitCodes.OK;
        }
        spec.commandLine().getErr().println("only " + printed + " of --limit " + limit + " events arrived within --max-time "
            + maxTime + " s; check the filters (qmp-sidecar events without --follow shows what the log holds)");
        return ExitCodes.UNREACHABLE;
      }
      JsonNode e = stream.next(Duration.ofNanos(left));
      if (e != null) {
        printed += print(e);
      }
    }
    stream.close();
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
