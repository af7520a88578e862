package io.qmpsidecar.sidecar.liveupdate;

import io.qmpsidecar.qmp.QmpAddress;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The machine a VM's QEMU runs on, as a live update sees it: its processes, its files and how the
 * sidecar reaches a Unix socket there. {@link LocalQemuHost} is the sidecar's own machine (the
 * daemon's only one); the vfio lab's tests give one whose QEMUs run inside L1. Every path is a
 * path on that machine. Every method blocks: call it off the event loop.
 */
public interface QemuHost {
  /** A QEMU this host started for a live update. */
  interface Launched {
    long pid();

    boolean alive() throws IOException;

    /** How it ended, e.g. "status 1"; only once {@link #alive} is false. */
    String exit() throws IOException;

    /** Kills it and anything started under it, and waits (bounded) until it is gone. */
    void kill() throws IOException, InterruptedException;
  }

  /** The Unix socket, on this host, of the monitor the sidecar reaches at {@code address}, if it is one. */
  Optional<Path> monitorPath(QmpAddress address);

  /** The address the sidecar dials to reach the Unix socket {@code socket} of this host. */
  QmpAddress dial(Path socket) throws IOException;

  /** The process listening on {@code socket}, if this user may see it. */
  OptionalLong listener(Path socket) throws IOException;

  /** Whether {@code socket} is a listening Unix socket now. */
  boolean listening(Path socket) throws IOException;

  /** The process's argv ({@code /proc/PID/cmdline}). */
  List<String> commandLine(long pid) throws IOException;

  /** The process's environment ({@code /proc/PID/environ}). */
  Map<String, String> environment(long pid) throws IOException;

  /** Whether the process still runs (a zombie does not). */
  boolean alive(long pid) throws IOException;

  /** Kills the process with SIGKILL if it still runs. */
  void kill(long pid) throws IOException;

  /**
   * What {@code binary --version} printed, run with {@code env}, if it exited 0 within
   * {@code timeout}.
   *
   * @throws IOException naming why not: no such executable, a timeout, another exit status
   */
  String version(List<String> binary, Map<String, String> env, Duration timeout) throws IOException,
      InterruptedException;

  /** Starts {@code command} with exactly {@code env}, its output appended to {@code log}. */
  Launched launch(List<String> command, Map<String, String> env, Path log) throws IOException;

  /** Creates {@code dir} (and its parents) and removes {@code stale} files left in it or elsewhere. */
  void prepare(Path dir, List<Path> stale) throws IOException;

  void delete(Path file) throws IOException;

  /** Renames {@code from} over {@code to} atomically. */
  void move(Path from, Path to) throws IOException;

  /**
   * The end of {@code file}: at most its last {@code max} bytes, from the first whole character
   * among them, stripped; empty when it has none.
   */
  String tail(Path file, int max) throws IOException;
}
