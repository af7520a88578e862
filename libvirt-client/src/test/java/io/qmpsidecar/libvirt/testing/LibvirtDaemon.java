package io.qmpsidecar.libvirt.testing;

import io.qmpsidecar.qmp.testing.Stopped;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A private libvirtd (with its own virtlogd) for tests, run as root without systemd. It lives in
 * its own mount namespace ({@code unshare -m}) where {@code /etc/libvirt}, {@code /run/libvirt},
 * {@code /var/lib/libvirt}, {@code /var/log/libvirt} and {@code /var/cache/libvirt} are bind
 * mounts of directories under {@link #dir()}: it shares nothing with a system libvirtd or with
 * another test daemon, needs no network (no default network, no dnsmasq), and has its own host
 * UUID so that two daemons can migrate domains between them. QEMU runs as {@code libvirt-qemu}
 * (as root it would taint every domain "high-privileges"). Only the processes it started are
 * stopped: libvirtd, virtlogd, and the QEMUs of its domains.
 */
public final class LibvirtDaemon implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration VIRSH_TIMEOUT = Duration.ofSeconds(120);
  private static final String[] MOUNTS = {
      "etc:/etc/libvirt", "run:/run/libvirt", "lib:/var/lib/libvirt", "log:/var/log/libvirt", "cache:/var/cache/libvirt"};

  private final Path dir;
  private final String hostUuid;
  private final int tcpPort;
  private Process libvirtd;
  private long startMillis;

  private LibvirtDaemon(Path dir, String hostUuid, int tcpPort) {
    this.dir = dir;
    this.hostUuid = hostUuid;
    this.tcpPort = tcpPort;
  }

  /**
   * Starts a daemon under {@code dir} (created, world-traversable so that QEMU's user reaches
   * it). With {@code listenTcp} it also listens on a loopback TCP port without authentication,
   * as the destination of a peer-to-peer migration must (libvirt refuses a unix-socket
   * destination URI that names a host, and one that names none is "the same host").
   * {@code capabilitiesCache}, if given, is shared between daemons to probe each QEMU once.
   */
  public static LibvirtDaemon start(Path dir, boolean listenTcp, Optional<Path> capabilitiesCache) throws IOException {
    Files.createDirectories(dir);
    traversable(dir);
    int port = listenTcp ? freePort() : 0;
    LibvirtDaemon d = new LibvirtDaemon(dir, UUID.randomUUID().toString(), port);
    d.writeConfig(capabilitiesCache);
    d.startLibvirtd(true);
    return d;
  }

  public Path dir() {
    return dir;
  }

  public String hostUuid() {
    return hostUuid;
  }

  /** The URI of this daemon's private unix socket. */
  public String uri() {
    return "qemu:///system?socket=" + dir.resolve("run/libvirt-sock");
  }

  /** The loopback TCP URI for peer-to-peer migration to this daemon. */
  public String tcpUri() {
    if (tcpPort == 0) {
      throw new IllegalStateException("this daemon was started without listenTcp");
    }
    return "qemu+tcp://127.0.0.1:" + tcpPort + "/system";
  }

  /** How long the last libvirtd start took until its socket answered. */
  public long lastStartMillis() {
    return startMillis;
  }

  public boolean isRunning() {
    return libvirtd != null && libvirtd.isAlive();
  }

  /** Stops libvirtd only (SIGTERM, as a service manager would); domains and virtlogd go on. */
  public void stopLibvirtd() throws IOException, InterruptedException {
    if (libvirtd == null) {
      return;
    }
    libvirtd.destroy();
    if (!libvirtd.waitFor(20, TimeUnit.SECONDS)) {
      libvirtd.destroyForcibly();
      libvirtd.waitFor(10, TimeUnit.SECONDS);
    }
    libvirtd = null;
    Files.deleteIfExists(dir.resolve("run/libvirt-sock"));
    Files.deleteIfExists(dir.resolve("run/libvirt-sock-ro"));
  }

  /** Starts libvirtd again (after {@link #stopLibvirtd()}); it reconnects to running domains. */
  public void startLibvirtd() throws IOException {
    startLibvirtd(false);
  }

  /** Runs virsh against this daemon; fails the test when virsh does not finish in time. */
  public Virsh virsh(String... args) {
    List<String> cmd = new ArrayList<>(List.of("virsh", "-q", "-c", uri()));
    cmd.addAll(List.of(args));
    try {
      Path out = Files.createTempFile(dir, "virsh", ".out");
      Path err = Files.createTempFile(dir, "virsh", ".err");
      try {
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(VIRSH_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
          p.destroyForcibly();
          throw new IllegalStateException("virsh " + String.join(" ", args) + " did not finish in " + VIRSH_TIMEOUT);
        }
        return new Virsh(p.exitValue(), Files.readString(out), Files.readString(err));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run virsh (apt-get install libvirt-clients; scripts/setup): " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted running virsh", e);
    }
  }

  /** What virsh printed. */
  public record Virsh(int exitCode, String out, String err) {
    public Virsh ok() {
      if (exitCode != 0) {
        throw new IllegalStateException("virsh failed (" + exitCode + "): " + err.strip());
      }
      return this;
    }
  }

  /** Starts a transient domain from {@code xml} with {@code virsh create}, paused when asked. */
  public void createDomain(String xml, boolean paused) throws IOException {
    Path file = Files.createTempFile(dir, "domain", ".xml");
    try {
      Files.writeString(file, xml);
      Virsh created = paused ? virsh("create", file.toString(), "--paused") : virsh("create", file.toString());
      if (created.exitCode() != 0) {
        throw new IllegalStateException("virsh create failed (" + created.exitCode() + "): " + created.err().strip()
            + "\n--- QEMU's logs (log/qemu) ---\n" + tails(dir.resolve("log/qemu"))
            + "\n--- libvirtd's log ---\n" + tail(dir.resolve("log/libvirtd.log")));
      }
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static String tails(Path logDir) throws IOException {
    if (!Files.isDirectory(logDir)) {
      return "(none)";
    }
    try (var logs = Files.list(logDir)) {
      StringBuilder all = new StringBuilder();
      for (Path log : logs.sorted().toList()) {
        all.append(log.getFileName()).append(":\n").append(tail(log)).append('\n');
      }
      return all.toString();
    }
  }

  /** Freezes libvirtd (SIGSTOP), as a stuck daemon; {@link #thaw()} lets it go on. */
  /** SIGSTOP, and waits until every thread of libvirtd has stopped: it then answers nothing. */
  public void freeze() {
    signal("-STOP");
    Stopped.await(libvirtd.pid(), "libvirtd");
  }

  public void thaw() {
    signal("-CONT");
  }

  private void signal(String sig) {
    try {
      Process p = new ProcessBuilder("kill", sig, Long.toString(libvirtd.pid())).inheritIO().start();
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException("kill " + sig + " " + libvirtd.pid() + " failed");
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run kill: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The domain's QEMU log (libvirt's command line, taint lines, QEMU's stderr). */
  public String qemuLog(String domain) throws IOException {
    Path log = dir.resolve("log/qemu/" + domain + ".log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** libvirtd's own log (warnings and errors). */
  public String daemonLog() throws IOException {
    Path log = dir.resolve("log/libvirtd.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /** Destroys every running domain of this daemon. */
  public void destroyAllDomains() {
    if (!isRunning()) {
      return;
    }
    for (String uuid : virsh("list", "--uuid").out().lines().map(String::strip).filter(s -> !s.isEmpty()).toList()) {
      virsh("destroy", uuid);
    }
  }

  /**
   * Destroys its domains, stops libvirtd and virtlogd, kills any QEMU of its domains that is
   * left (by the pid files under its run directory), and deletes its directory.
   */
  @Override
  public void close() throws IOException {
    try {
      destroyAllDomains();
      stopLibvirtd();
      killByPidFiles(dir.resolve("run/qemu"));
      killPid(dir.resolve("run/virtlogd.pid"));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while stopping the libvirtd under " + dir, e);
    }
    deleteTree(dir);
  }

  private void startLibvirtd(boolean withVirtlogd) throws IOException {
    long t0 = System.nanoTime();
    List<String> cmd = new ArrayList<>(List.of("unshare", "-m", "--propagation", "private",
        "sh", dir.resolve("launch.sh").toString(), dir.toString(), withVirtlogd ? "1" : "0"));
    if (tcpPort != 0) {
      cmd.add("--listen");
    }
    libvirtd = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("launch.log").toFile()))
        .start();
    Path sock = dir.resolve("run/libvirt-sock");
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!(Files.exists(sock) && virshAnswers())) {
      if (!libvirtd.isAlive()) {
        throw new IllegalStateException("libvirtd exited with " + libvirtd.exitValue() + "; see "
            + dir.resolve("launch.log") + " and " + dir.resolve("log/libvirtd.log") + ":\n" + tail(dir.resolve("launch.log")));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("libvirtd did not open " + sock + " within " + START_TIMEOUT + "; see " + dir.resolve("log/libvirtd.log"));
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted waiting for libvirtd", e);
      }
    }
    startMillis = (System.nanoTime() - t0) / 1_000_000;
  }

  private boolean virshAnswers() {
    return virsh("uri").exitCode() == 0;
  }

  private void writeConfig(Optional<Path> capabilitiesCache) throws IOException {
    for (String m : MOUNTS) {
      Files.createDirectories(dir.resolve(m.substring(0, m.indexOf(':'))));
    }
    Path cache = capabilitiesCache.orElse(dir.resolve("cache"));
    Files.createDirectories(cache);
    Files.writeString(dir.resolve("etc/libvirtd.conf"), String.join("\n",
        "listen_tls = 0",
        "listen_tcp = " + (tcpPort != 0 ? 1 : 0),
        "listen_addr = \"127.0.0.1\"",
        "tcp_port = \"" + tcpPort + "\"",
        "auth_tcp = \"none\"",
        "unix_sock_rw_perms = \"0700\"",
        "auth_unix_rw = \"none\"",
        "auth_unix_ro = \"none\"",
        "host_uuid = \"" + hostUuid + "\"",
        "log_outputs = \"3:file:/var/log/libvirt/libvirtd.log\"",
        ""));
    // No security driver (no AppArmor here) and no cgroups or per-domain namespaces: the
    // machine has neither systemd nor a delegated cgroup tree. None of these taints a domain.
    Files.writeString(dir.resolve("etc/qemu.conf"), String.join("\n",
        "security_driver = \"none\"",
        "cgroup_controllers = [ ]",
        "namespaces = [ ]",
        ""));
    Files.writeString(dir.resolve("etc/virtlogd.conf"), "log_outputs = \"3:file:/var/log/libvirt/virtlogd.log\"\n");
    StringBuilder sh = new StringBuilder("""
        set -eu
        d="$1"; with_virtlogd="$2"; shift 2
        """);
    for (String m : MOUNTS) {
      String src = m.substring(0, m.indexOf(':'));
      String target = m.substring(m.indexOf(':') + 1);
      String from = src.equals("cache") ? cache.toString() : "$d/" + src;
      sh.append("mkdir -p ").append(target).append("\nmount --bind \"").append(from).append("\" ").append(target).append('\n');
    }
    // The domains run TCG. A /dev/kvm that libvirt-qemu may open but KVM cannot use (a node
    // without the module behind it) makes libvirt judge every cached capability set stale
    // ("KVM should be usable now") and probe QEMU again at each look-up: each domain then takes
    // tens of seconds to start (docs/libvirt.md). Here /dev/kvm is an empty file only root may
    // open.
    sh.append("""
        if [ -e /dev/kvm ]; then
          : > "$d/no-kvm"
          chmod 600 "$d/no-kvm"
          mount --bind "$d/no-kvm" /dev/kvm
        fi
        if [ "$with_virtlogd" = 1 ]; then
          virtlogd -d -f /etc/libvirt/virtlogd.conf -p /run/libvirt/virtlogd.pid
        fi
        exec libvirtd "$@" -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
        """);
    Files.writeString(dir.resolve("launch.sh"), sh.toString());
  }

  private static void killByPidFiles(Path runQemu) throws IOException, InterruptedException {
    if (!Files.isDirectory(runQemu)) {
      return;
    }
    try (Stream<Path> files = Files.list(runQemu)) {
      for (Path p : files.filter(f -> f.toString().endsWith(".pid")).toList()) {
        killPid(p);
      }
    }
  }

  private static void killPid(Path pidFile) throws IOException, InterruptedException {
    if (!Files.exists(pidFile)) {
      return;
    }
    String text = Files.readString(pidFile).strip();
    if (text.isEmpty()) {
      return;
    }
    Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(text));
    if (h.isPresent() && h.get().isAlive()) {
      h.get().destroy();
      for (int i = 0; i < 100 && h.get().isAlive(); i++) {
        Thread.sleep(50);
      }
      if (h.get().isAlive()) {
        h.get().destroyForcibly();
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static void traversable(Path dir) throws IOException {
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    } catch (IOException e) {
      return "";
    }
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
