package io.qmpsidecar.qmp.impl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Says why a Unix socket refused this process (EACCES) and what to do, from the socket's owner,
 * group and mode. Reads the file system: call it off the event loop.
 */
final class SocketAccess {
  private SocketAccess() {}

  /** The message for a connect to {@code socket} that failed with "Permission denied". */
  static String denied(Path socket) {
    String user = System.getProperty("user.name");
    PosixFileAttributes a;
    try {
      a = Files.readAttributes(socket, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (IOException | UnsupportedOperationException e) {
      return "permission denied: " + socket + "; user " + user + " cannot reach it (a directory on its path denies"
          + " search): run as a user that can read and write it";
    }
    Set<PosixFilePermission> mode = a.permissions();
    String owner = a.owner().getName();
    String group = a.group().getName();
    String what = "permission denied: " + socket + " (owner " + owner + ", group " + group + ", mode "
        + PosixFilePermissions.toString(mode) + ") for user " + user + "; ";
    if (mode.contains(PosixFilePermission.GROUP_READ) && mode.contains(PosixFilePermission.GROUP_WRITE)) {
      return what + "run as a user that can read and write it (e.g. add the user to group " + group
          + ": usermod -aG " + group + " " + user + ", then log in again)";
    }
    return what + "only " + owner + " may connect: run as " + owner + ", or have the socket created with group"
        + " read/write access (e.g. chmod 660 and a group the user is in)";
  }
}
