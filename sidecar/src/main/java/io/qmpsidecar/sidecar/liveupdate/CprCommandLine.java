package io.qmpsidecar.sidecar.liveupdate;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The new QEMU's command line, made from the running one's ({@code /proc/PID/cmdline}): the same
 * machine, with its machine type pinned to the one the old QEMU resolved (a bare {@code q35}
 * means another version in a newer binary, and QEMU refuses the incoming state), every Unix
 * socket it listens on and its {@code -pidfile} moved to a temporary path (the old QEMU keeps its
 * own until the switchover, and holds a lock on its pid file),
 * {@code -incoming}, {@code -daemonize} and {@code -S} of an earlier start dropped (the guest runs
 * after the handover if it ran before, whatever the first start said), and QEMU's two incoming
 * channels added: {@code defer} for the main one and the {@code cpr} channel on the sidecar's
 * socket.
 */
final class CprCommandLine {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** {@code unix:PATH} or {@code path=PATH} in an option of a listening socket. */
  private static final Pattern UNIX_PATH = Pattern.compile("(?:^|[,=])(?:unix:|path=)([^,]+)");
  /**
   * How the suffix of a socket's temporary path starts while both QEMUs run; six random hex digits
   * follow, new for each update ({@link #movedSuffix}).
   */
  static final String MOVED = ".live-update-";
  /** The length of a whole suffix. */
  static final int MOVED_LENGTH = MOVED.length() + 6;
  private static final Pattern EARLIER_MOVE = Pattern.compile(Pattern.quote(MOVED) + "[0-9a-f]{6}$");

  private CprCommandLine() {}

  /** Where QEMU's own arguments start: after the binary, which may follow a loader and its options. */
  static int binaryIndex(List<String> argv) {
    for (int i = 0; i < argv.size(); i++) {
      Path file = Path.of(argv.get(i)).getFileName();
      String name = file == null ? "" : file.toString();
      if (name.startsWith("qemu-system-") || name.equals("qemu-kvm")) {
        return i;
      }
    }
    throw new IllegalArgumentException("no qemu-system-* binary in the command line " + argv);
  }

  /** The path of {@code -pidfile PATH} in QEMU's arguments, or null without one. */
  static String pidFile(List<String> args) {
    for (int i = 0; i + 1 < args.size(); i++) {
      if (isPidFile(args.get(i))) {
        return args.get(i + 1);
      }
    }
    return null;
  }

  private static boolean isPidFile(String arg) {
    return arg.equals("-pidfile") || arg.equals("--pidfile");
  }

  /**
   * The Unix sockets the QEMU listens on, by their path: {@code unix:PATH,server...} options and
   * {@code -chardev socket,...,path=PATH,server...}.
   */
  static List<String> listeningSockets(List<String> args) {
    List<String> paths = new ArrayList<>();
    for (String arg : args) {
      if (!arg.contains("server")) {
        continue;
      }
      Matcher m = UNIX_PATH.matcher(arg);
      while (m.find()) {
        if (!paths.contains(m.group(1))) {
          paths.add(m.group(1));
        }
      }
    }
    return paths;
  }

  /**
   * The new command line.
   *
   * @param argv the old QEMU's, as {@code /proc/PID/cmdline} has it
   * @param binary the new binary, or null for the old one's path (a package upgrade replaced it)
   * @param machineType the type the old QEMU runs, e.g. {@code pc-q35-10.0}
   * @param moved each listening socket's path and its temporary one
   */
  static List<String> build(List<String> argv, String binary, String machineType, Map<String, String> moved,
      Path cprSocket) {
    int at = binaryIndex(argv);
    List<String> out = new ArrayList<>();
    if (binary == null) {
      out.addAll(argv.subList(0, at + 1));
    } else {
      out.add(binary);
    }
    boolean machine = false;
    List<String> args = argv.subList(at + 1, argv.size());
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String option = arg.startsWith("--") ? arg.substring(1) : arg;
      if (option.equals("-incoming") && i + 1 < args.size()) {
        i++;
        continue;
      }
      if (option.equals("-daemonize") || option.equals("-S")) {
        continue;
      }
      if (isPidFile(arg) && i + 1 < args.size()) {
        String file = args.get(++i);
        out.add(arg);
        out.add(moved.getOrDefault(file, file));
        continue;
      }
      if ((option.equals("-machine") || option.equals("-M")) && i + 1 < args.size()) {
        out.add(arg);
        out.add(pinned(args.get(++i), machineType));
        machine = true;
        continue;
      }
      out.add(moveSockets(arg, moved));
    }
    if (!machine) {
      out.add("-machine");
      out.add(machineType);
    }
    ObjectNode cpr = JSON.createObjectNode().put("channel-type", "cpr");
    cpr.putObject("addr").put("transport", "socket").put("type", "unix").put("path", cprSocket.toString());
    out.addAll(List.of("-incoming", "defer", "-incoming", cpr.toString()));
    return out;
  }

  /** {@code q35,accel=kvm} or {@code type=q35,...} with the type replaced by {@code machineType}. */
  static String pinned(String value, String machineType) {
    List<String> parts = new ArrayList<>(List.of(value.split(",", -1)));
    for (int i = 0; i < parts.size(); i++) {
      String p = parts.get(i);
      if (p.startsWith("type=")) {
        parts.set(i, "type=" + machineType);
        return String.join(",", parts);
      }
    }
    if (!parts.isEmpty() && !parts.get(0).contains("=")) {
      parts.set(0, machineType);
      return String.join(",", parts);
    }
    parts.add(0, machineType);
    return String.join(",", parts);
  }

  private static String moveSockets(String arg, Map<String, String> moved) {
    if (!arg.contains("server")) {
      return arg;
    }
    Matcher m = UNIX_PATH.matcher(arg);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String to = moved.getOrDefault(m.group(1), m.group(1));
      m.appendReplacement(out, Matcher.quoteReplacement(m.group().substring(0, m.start(1) - m.start()) + to));
    }
    m.appendTail(out);
    return out.toString();
  }

  /**
   * {@code argv} with each listening socket's and the pid file's temporary path from an earlier
   * update replaced by the path it was renamed to: the QEMU an update started keeps the temporary
   * paths on its command line, while its files have had their final names on disk since its
   * switchover.
   */
  static List<String> settled(List<String> argv) {
    List<String> out = new ArrayList<>(argv.size());
    for (String arg : argv) {
      if (!out.isEmpty() && isPidFile(out.get(out.size() - 1))) {
        out.add(EARLIER_MOVE.matcher(arg).replaceFirst(""));
        continue;
      }
      if (!arg.contains("server")) {
        out.add(arg);
        continue;
      }
      Matcher m = UNIX_PATH.matcher(arg);
      StringBuilder settled = new StringBuilder();
      while (m.find()) {
        String path = EARLIER_MOVE.matcher(m.group(1)).replaceFirst("");
        m.appendReplacement(settled, Matcher.quoteReplacement(m.group().substring(0, m.start(1) - m.start()) + path));
      }
      m.appendTail(settled);
      out.add(settled.toString());
    }
    return out;
  }

  /**
   * A suffix of its own for one update's temporary paths. The kernel names a Unix socket by the
   * path it was bound to ({@code /proc/net/unix}), and a rename does not change that: after an
   * update the new QEMU's sockets keep their temporary names there, so the next update must not
   * reuse them, or the names would point at the running QEMU instead of the one starting.
   */
  static String movedSuffix(RandomGenerator random) {
    return MOVED + String.format("%06x", random.nextInt(1 << 24));
  }

  /** Each listening socket (and the pid file) and the temporary path the new QEMU uses instead. */
  static Map<String, String> moves(List<String> paths, String suffix) {
    Map<String, String> moves = new LinkedHashMap<>();
    paths.forEach(s -> moves.put(s, s + suffix));
    return moves;
  }
}
