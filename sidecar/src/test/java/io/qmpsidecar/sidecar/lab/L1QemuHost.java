package io.qmpsidecar.sidecar.lab;

import io.qmpsidecar.qmp.QmpAddress;
import io.qmpsidecar.sidecar.liveupdate.QemuHost;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/**
 * L1 as the machine a live update's QEMUs run on: what the sidecar reads in {@code /proc},
 * starts, moves and deletes, it does in L1 through the control port, with the same commands a
 * host's {@code /proc} and files answer to. The sidecar on this host reaches an L1 Unix socket
 * through a TCP port lab/start forwards: the VM's monitor through its slot's forwarder (lab/l2
 * with {@code L2_QMP=unix}), and the new QEMU's moved monitor through one started on the
 * {@code dialSlot}'s port when the update dials it.
 */
final class L1QemuHost implements QemuHost {
  private final VfioLab lab;
  private final L1Shell l1;
  private final Map<QmpAddress, Path> monitors;
  private final String dialSlot;

  /**
   * @param monitors each VM's forwarded monitor address and the Unix socket in L1 it reaches
   * @param dialSlot the spare slot whose port reaches the new QEMU's monitor (no L2 runs there)
   */
  L1QemuHost(VfioLab lab, Map<QmpAddress, Path> monitors, String dialSlot) {
    this.lab = lab;
    this.l1 = lab.l1();
    this.monitors = Map.copyOf(monitors);
    this.dialSlot = dialSlot;
  }

  static String quote(String arg) {
    return "'" + arg.replace("'", "'\\''") + "'";
  }

  private static String quote(List<String> args) {
    return args.stream().map(L1QemuHost::quote).collect(Collectors.joining(" "));
  }

  private static String env(Map<String, String> env) {
    List<String> words = new ArrayList<>(List.of("env", "-i"));
    env.forEach((k, v) -> words.add(k + "=" + v));
    return quote(words);
  }

  private String sh(String command) throws IOException {
    L1Shell.Result r = l1.exec(command);
    if (r.exitCode() != 0) {
      throw new IOException("in L1, `" + command + "` exited with " + r.exitCode() + ": " + r.output());
    }
    return r.output();
  }

  @Override
  public Optional<Path> monitorPath(QmpAddress address) {
    return Optional.ofNullable(monitors.get(address));
  }

  /** Forwards {@link #dialSlot}'s port to {@code socket} (once the socket listens) and returns its address. */
  @Override
  public QmpAddress dial(Path socket) throws IOException {
    l1.kill(dialSlot);
    int port = lab.sparePort(dialSlot);
    // Returns once nc listens (busybox nc: an IPv6 dual-stack socket), else the first connection
    // through lab/start's forwarding could arrive before it and be reset.
    sh("nc -ll -p " + port + " -e labtool unixcat " + quote(socket.toString())
        + " > /dev/null 2>> /tmp/" + dialSlot + ".fwd.log & echo $! > /tmp/" + dialSlot + ".fwd.pid; i=0;"
        + " until grep -q '^ *[0-9]*: [0-9A-F]*:"
        + String.format("%04X", port) + " [0-9A-F]*:0000 0A' /proc/net/tcp6 /proc/net/tcp 2>/dev/null; do"
        + " i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done");
    return lab.qmp(dialSlot);
  }

  @Override
  public OptionalLong listener(Path socket) {
    return l1.listener(socket.toString());
  }

  @Override
  public boolean listening(Path socket) throws IOException {
    return !sh(L1Shell.listeningInode(socket.toString())).isBlank();
  }

  private static List<String> nulSeparated(String text) {
    List<String> out = new ArrayList<>(Arrays.asList(text.split("\u0001", -1)));
    if (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) {
      out.remove(out.size() - 1);
    }
    return out;
  }

  @Override
  public List<String> commandLine(long pid) throws IOException {
    return nulSeparated(sh("tr '\\000' '\\001' < /proc/" + pid + "/cmdline"));
  }

  @Override
  public Map<String, String> environment(long pid) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String entry : nulSeparated(sh("tr '\\000' '\\001' < /proc/" + pid + "/environ"))) {
      int eq = entry.indexOf('=');
      if (eq > 0) {
        env.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
    }
    return env;
  }

  @Override
  public boolean alive(long pid) throws IOException {
    return l1.exec("[ -f /proc/" + pid + "/stat ] && ! grep -q ') Z' /proc/" + pid + "/stat").exitCode() == 0;
  }

  @Override
  public void kill(long pid) throws IOException {
    sh("kill -9 " + pid + " 2>/dev/null; true");
  }

  @Override
  public String version(List<String> binary, Map<String, String> env, Duration timeout) throws IOException {
    List<String> command = new ArrayList<>(binary);
    command.add("--version");
    return sh("timeout " + Math.max(1, timeout.toSeconds()) + " " + env(env) + " " + quote(command));
  }

  /**
   * Runs {@code command} in the background under a subshell that records its exit status next
   * to the log; the subshell's pid is the launched process's.
   */
  @Override
  public Launched launch(List<String> command, Map<String, String> env, Path log) throws IOException {
    String status = log + ".status";
    long pid = Long.parseLong(sh("rm -f " + quote(status) + "; ( " + env(env) + " " + quote(command) + " >> "
        + quote(log.toString()) + " 2>&1; echo $? > " + quote(status) + " ) > /dev/null 2>&1 & echo $!").trim());
    return new Launched() {
      @Override
      public long pid() {
        return pid;
      }

      @Override
      public boolean alive() throws IOException {
        return l1.exec("[ ! -f " + quote(status) + " ]").exitCode() == 0;
      }

      @Override
      public String exit() throws IOException {
        return "status " + sh("cat " + quote(status)).trim();
      }

      @Override
      public void kill() throws IOException {
        sh("for c in $(awk '$4 == " + pid + " {print $1}' /proc/[0-9]*/stat 2>/dev/null); do kill -9 $c; done;"
            + " kill -9 " + pid + " 2>/dev/null; true");
      }
    };
  }

  @Override
  public void prepare(Path dir, List<Path> stale) throws IOException {
    sh("mkdir -p " + quote(dir.toString()) + " && rm -f " + quote(stale.stream().map(Path::toString).toList()));
  }

  @Override
  public void delete(Path file) throws IOException {
    sh("rm -f " + quote(file.toString()));
  }

  @Override
  public void move(Path from, Path to) throws IOException {
    sh("mv -f " + quote(from.toString()) + " " + quote(to.toString()));
  }

  @Override
  public String tail(Path file, int max) throws IOException {
    // A cut inside a character decodes as U+FFFD: the tail starts at the next whole one.
    return sh("tail -c " + max + " " + quote(file.toString())).replaceFirst("^\uFFFD+", "").strip();
  }
}
