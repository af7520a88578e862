package io.qmpsidecar.sidecar.hostprep;

import io.qmpsidecar.qmp.QmpPeer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Whether a process may open a device node for reading and writing, decided as the kernel does
 * from the node's owner, group and mode: root may; the owner by the owner's bits; a member of the
 * node's group by the group's bits; anyone else by the others' bits. The process's ids and
 * groups are those {@code /proc/PID/status} lists, when this user may read it. Blocking.
 */
final class NodeAccess {
  private static final int READ_WRITE = 06;

  private NodeAccess() {}

  /** Who the process is for file access: its ids, and its supplementary groups when known. */
  private record Credentials(int uid, int gid, Optional<Set<Integer>> groups) {}

  /**
   * @param process as the kernel named it at the socket ({@code SO_PEERCRED}: the ids it had when
   *     it listened, before a QEMU started with {@code -run-with user=} dropped them)
   * @return why {@code process} may not open {@code node}; empty when it may, and when it cannot
   *     be told (its supplementary groups are unreadable and only the group's bits would grant it)
   */
  static Optional<String> deniedTo(Path node, QmpPeer process, Path proc) {
    Credentials who = credentials(process, proc);
    if (who.uid() == 0) {
      return Optional.empty();
    }
    int owner;
    int group;
    int mode;
    try {
      owner = (Integer) Files.getAttribute(node, "unix:uid");
      group = (Integer) Files.getAttribute(node, "unix:gid");
      mode = (Integer) Files.getAttribute(node, "unix:mode");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the owner and mode of " + node + ": " + e.getMessage(), e);
    }
    boolean member = who.gid() == group || who.groups().map(g -> g.contains(group)).orElse(false);
    int bits;
    if (who.uid() == owner) {
      bits = mode >> 6;
    } else if (member) {
      bits = mode >> 3;
    } else if (who.groups().isEmpty() && ((mode >> 3) & READ_WRITE) == READ_WRITE) {
      return Optional.empty();
    } else {
      bits = mode;
    }
    if ((bits & READ_WRITE) == READ_WRITE) {
      return Optional.empty();
    }
    return Optional.of(node + " is not readable and writable by QEMU (pid " + process.pid() + ", uid " + who.uid()
        + ", gid " + who.gid() + who.groups().map(g -> ", groups " + g).orElse("") + "): it is owned by uid "
        + owner + ", gid " + group + ", mode " + String.format("%04o", mode & 07777));
  }

  /**
   * The process's file-system ids and groups from {@code /proc/PID/status} ({@code Uid:} and
   * {@code Gid:}: real, effective, saved, file system; {@code Groups:}); where this user may not
   * read it, the socket's ids without supplementary groups.
   */
  private static Credentials credentials(QmpPeer process, Path proc) {
    try {
      int uid = process.uid();
      int gid = process.gid();
      Set<Integer> groups = null;
      for (String line : Files.readAllLines(proc.resolve(process.pid() + "/status"))) {
        String[] f = line.split("\\s+");
        if (line.startsWith("Uid:") && f.length >= 5) {
          uid = Integer.parseInt(f[4]);
        } else if (line.startsWith("Gid:") && f.length >= 5) {
          gid = Integer.parseInt(f[4]);
        } else if (line.startsWith("Groups:")) {
          groups = new HashSet<>();
          for (int i = 1; i < f.length; i++) {
            groups.add(Integer.parseInt(f[i]));
          }
        }
      }
      return new Credentials(uid, gid, Optional.ofNullable(groups));
    } catch (IOException | NumberFormatException e) {
      return new Credentials(process.uid(), process.gid(), Optional.empty());
    }
  }
}
