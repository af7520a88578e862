package io.qmpsidecar.sidecar.lab;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * L1's control port (lab/ctl): runs one shell command per connection inside L1, as root, and
 * returns its output and exit code. The tests use it for what only L1 can do or see: start and
 * kill L2 QEMUs, pass file descriptors to them (labtool fdpass), and read {@code /proc} and sysfs.
 * Blocking, on the test thread; every call is bounded by its timeout.
 */
public final class L1Shell {
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Pattern EXIT = Pattern.compile("LABCTL exit=(\\d+)");
  private static final Pattern PID = Pattern.compile("\\d+");
  private static final int MAX_OUTPUT = 1 << 20;

  private final InetSocketAddress address;
  private final String token;

  L1Shell(InetSocketAddress address, String token) {
    this.address = Objects.requireNonNull(address, "address");
    this.token = Objects.requireNonNull(token, "token");
  }

  /** What a command printed (stdout and stderr) and its exit code. */
  public record Result(String command, int exitCode, String output) {}

  /** Runs {@code command} with sh in L1 within {@link #DEFAULT_TIMEOUT}. */
  public Result exec(String command) {
    return exec(command, DEFAULT_TIMEOUT);
  }

  /**
   * Runs {@code command} with sh in L1. A command that leaves a process running in the background
   * must redirect that process's output, or the connection stays open until it ends.
   */
  public Result exec(String command, Duration timeout) {
    if (command.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("one line per command: " + command);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Socket s = new Socket()) {
      s.connect(address, (int) CONNECT_TIMEOUT.toMillis());
      OutputStream out = s.getOutputStream();
      out.write((token + " " + command + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (true) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          throw new AssertionError("L1 command did not finish within " + timeout + ": " + command
              + "; output so far: " + got.toString(StandardCharsets.UTF_8));
        }
        s.setSoTimeout((int) Math.min(left, Integer.MAX_VALUE));
        int n;
        try {
          n = in.read(buf);
        } catch (SocketTimeoutException e) {
          continue;
        }
        if (n < 0) {
          break;
        }
        if (got.size() + n > MAX_OUTPUT) {
          throw new AssertionError("L1 command printed more than " + MAX_OUTPUT + " bytes: " + command);
        }
        got.write(buf, 0, n);
      }
      return parse(command, got.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot reach L1's control port " + address + " (" + e.getMessage()
          + "); is the lab still running? See .lab/run/console.log", e);
    }
  }

  /** Runs {@code command} and returns its output; fails with the output when it exits non-zero. */
  public String run(String command) {
    return run(command, DEFAULT_TIMEOUT);
  }

  public String run(String command, Duration timeout) {
    Result r = exec(command, timeout);
    if (r.exitCode() != 0) {
      throw new AssertionError("L1 command failed with exit code " + r.exitCode() + ": " + command
          + "\n" + r.output());
    }
    return r.output();
  }

  /** The pid of an L2 QEMU lab/l2 started (its /tmp/NAME.pid), checked to be alive. */
  public long l2Pid(String l2) {
    String out = run("cat /tmp/" + l2 + ".pid && kill -0 $(cat /tmp/" + l2 + ".pid)").trim();
    if (!PID.matcher(out).matches()) {
      throw new AssertionError("L1 has no live L2 " + l2 + ": " + out);
    }
    return Long.parseLong(out);
  }

  /**
   * The process in L1 that listens on the Unix socket {@code path} now, as the kernel recorded it
   * at {@code listen()} ({@code labtool peerpid}: {@code SO_PEERCRED} of a connection to it, the
   * way the daemon identifies QEMU through its own monitor connection). Empty when nothing
   * accepts connections there. A QEMU monitor busy with another client queues the probe, and
   * drops it once it gets to it; its listen queue holds two, and a third probe during one client's
   * session fails after 10 s (the tests make at most two).
   */
  public OptionalLong listener(String path) {
    Result r = exec("labtool peerpid '" + path + "'");
    if (r.exitCode() == 3) {
      throw new AssertionError("cannot tell who listens on " + path + " in L1: " + r.output().trim());
    }
    return r.exitCode() == 0 ? OptionalLong.of(Long.parseLong(r.output().trim())) : OptionalLong.empty();
  }

  /** A command printing the inode of the listening Unix socket {@code path} (nothing if none). */
  static String listeningInode(String path) {
    return "awk -v p='" + path + "' '$8 == p && $4 == \"00010000\" {print $7; exit}' /proc/net/unix";
  }

  /** The targets of the descriptors a process in L1 holds ({@code ls -l /proc/PID/fd}). */
  public List<String> fdTargets(long pid) {
    List<String> targets = new ArrayList<>();
    for (String line : run("ls -l /proc/" + pid + "/fd").split("\n")) {
      int arrow = line.indexOf(" -> ");
      if (arrow > 0) {
        targets.add(line.substring(arrow + 4).trim());
      }
    }
    return targets;
  }

  /** How many descriptors of {@code pid} point at {@code path}. */
  public long fdCount(long pid, String path) {
    return fdTargets(pid).stream().filter(path::equals).count();
  }

  /**
   * Kills an L2 QEMU with SIGKILL if it runs, and its monitor's forwarder if it has one
   * (lab/l2's {@code L2_QMP=unix}), and waits (bounded) until the QEMU is gone.
   */
  public void kill(String name) {
    run("f=$(cat /tmp/" + name + ".fwd.pid 2>/dev/null) && kill -9 $f 2>/dev/null; rm -f /tmp/" + name + ".fwd.pid;"
        + " p=$(cat /tmp/" + name + ".pid 2>/dev/null) && kill -9 $p 2>/dev/null;"
        + " i=0; while [ -n \"$p\" ] && [ -d /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done;"
        + " [ -z \"$p\" ] || [ ! -d /proc/$p ]");
  }

  /**
   * Removes an mdev and creates it again with the same UUID, through sysfs as a management stack
   * does: a fresh device. Needed after a QEMU died or gave up while resuming a migration into it:
   * the mtty sample keeps its migration state (RESUMING) across close, and QEMU cannot reset an
   * mdev ("no available reset mechanism"), so the next QEMU's incoming migration into it fails.
   */
  public void recreateMdev(LabMdev mdev) {
    run("echo 1 > " + mdev.sysfsdev() + "/remove && echo " + mdev.uuid() + " > /sys/class/mdev_bus/"
        + mdev.parent() + "/mdev_supported_types/" + mdev.type() + "/create && [ -d " + mdev.sysfsdev() + " ]");
  }

  private static Result parse(String command, String output) {
    if (output.startsWith("LABCTL denied")) {
      throw new AssertionError("L1's control port refused the token (a different lab run?)");
    }
    int at = output.lastIndexOf("LABCTL exit=");
    if (at < 0) {
      throw new AssertionError("L1 command ended without its exit code: " + command + "\n" + output);
    }
    Matcher m = EXIT.matcher(output.substring(at));
    if (!m.find()) {
      throw new AssertionError("unreadable exit line from L1: " + output.substring(at));
    }
    return new Result(command, Integer.parseInt(m.group(1)), output.substring(0, at).stripTrailing());
  }
}
