package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * Finds the process that listens on a Unix socket ({@code /proc/net/unix} names the socket's
 * inode, a {@code /proc/PID/fd} link names it as {@code socket:[INODE]}), reads its command line
 * and environment, and which files it holds open. Blocking: run it off the event loop. Needs the
 * right to read other processes' {@code /proc/PID/fd} (root, or the user QEMU runs as).
 */
public final class QemuProcessLookup {
  /** __SO_ACCEPTCON in /proc/net/unix's flags: the socket listens. */
  private static final int LISTENING = 0x10000;

  private final Path proc;

  /** @param proc normally {@code /proc} */
  public QemuProcessLookup(Path proc) {
    this.proc = proc;
  }

  /** The process listening on {@code socket}, if any. */
  public OptionalLong listener(Path socket) throws IOException {
    String inode = listeningInode(socket.toAbsolutePath().toString());
    if (inode == null) {
      return OptionalLong.empty();
    }
    String link = "socket:[" + inode + "]";
    try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path pid : pids) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(pid.resolve("fd"))) {
          for (Path fd : fds) {
            if (link.equals(readLink(fd))) {
              return OptionalLong.of(Long.parseLong(pid.getFileName().toString()));
            }
          }
        } catch (IOException | SecurityException e) {
          // A process that ended meanwhile, or one this user may not inspect.
        }
      }
    }
    return OptionalLong.empty();
  }

  /** Whether {@code socket} is a listening Unix socket now. */
  public boolean listening(Path socket) throws IOException {
    return listeningInode(socket.toAbsolutePath().toString()) != null;
  }

  private String listeningInode(String path) throws IOException {
    for (String line : Files.readAllLines(proc.resolve("net/unix"))) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 8 && f[7].equals(path) && f[3].matches("[0-9A-Fa-f]+")
          && (Integer.parseInt(f[3], 16) & LISTENING) != 0) {
        return f[6];
      }
    }
    return null;
  }

  private static String readLink(Path fd) {
    try {
      return Files.readSymbolicLink(fd).toString();
    } catch (IOException e) {
      return null;
    }
  }

  /** The process's argv, from {@code /proc/PID/cmdline}. */
  public List<String> commandLine(long pid) throws IOException {
    return nulSeparated(Files.readAllBytes(proc.resolve(pid + "/cmdline")));
  }

  /** The process's environment, from {@code /proc/PID/environ}. */
  public Map<String, String> environment(long pid) throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    for (String entry : nulSeparated(Files.readAllBytes(proc.resolve(pid + "/environ")))) {
      int eq = entry.indexOf('=');
      if (eq > 0) {
        env.put(entry.substring(0, eq), entry.substring(eq + 1));
      }
    }
    return env;
  }

  /** Whether the process still exists (and is not a zombie waiting for its parent). */
  public boolean alive(long pid) {
    try {
      String stat = Files.readString(proc.resolve(pid + "/stat"));
      int close = stat.lastIndexOf(')');
      return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /**
   * Of {@code files}, those the process holds open now (a {@code /proc/PID/fd} link names them);
   * none once it has ended.
   *
   * @throws java.nio.file.AccessDeniedException when this user may not read the process's fds
   */
  public List<Path> holding(long pid, Collection<Path> files) throws IOException {
    Set<String> wanted = new HashSet<>();
    files.forEach(f -> wanted.add(f.toString()));
    Set<Path> held = new LinkedHashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve(pid + "/fd"))) {
      for (Path fd : fds) {
        String target = readLink(fd);
        if (target != null && wanted.contains(target)) {
          held.add(Path.of(target));
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return List.copyOf(held);
  }

  private static List<String> nulSeparated(byte[] bytes) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        out.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    if (start < bytes.length) {
      out.add(new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8));
    }
    return out;
  }
}
