package io.qmpsidecar.sidecar.proxy;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's socket file. The server binds a temporary name in the same directory, which gets
 * its mode and is then renamed onto the real path: no client can connect while the socket still
 * has the process umask's mode. Every method does blocking file I/O: call it off the event loop.
 */
final class ProxySocketFile {
  private static final Logger LOG = LoggerFactory.getLogger(ProxySocketFile.class);
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private final Path path;
  private final boolean groupAccess;
  private final String group;

  /**
   * @param groupAccess mode 0660 instead of 0600
   * @param group the group the socket gets, or null to keep the one it is created with
   */
  ProxySocketFile(Path path, boolean groupAccess, String group) {
    this.path = path.toAbsolutePath();
    this.groupAccess = groupAccess;
    this.group = group;
  }

  Path path() {
    return path;
  }

  /**
   * Checks that the path is free, removing a stale socket (one nobody listens on), and returns the
   * temporary path to bind.
   *
   * @throws QmpProxyException when the path is something other than a socket, a live socket, or
   *     its directory is missing
   */
  Path prepare() {
    Path dir = path.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw fail("directory " + dir + " does not exist: create it (mode 0700 or 0750) first");
    }
    if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
      if (!isSocket(path)) {
        throw fail(path + " exists and is not a socket: refusing to replace it; remove it or"
            + " choose another proxy socket path");
      }
      if (listening(path)) {
        throw fail("another process listens on " + path + " (a second sidecar for this VM?):"
            + " stop it or choose another proxy socket path");
      }
      try {
        Files.delete(path);
        LOG.info("QMP proxy: removed the stale socket {} (nobody listened on it)", path);
      } catch (IOException e) {
        throw fail("cannot remove the stale socket " + path + ": " + e.getMessage()
            + "; check the directory's permissions", e);
      }
    }
    return dir.resolve("." + path.getFileName() + "." + Long.toHexString(
        ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE) + ".tmp");
  }

  /** Gives the bound temporary socket its group and mode and moves it onto the real path. */
  void publish(Path bound) {
    if (group != null) {
      try {
        GroupPrincipal owner = bound.getFileSystem().getUserPrincipalLookupService()
            .lookupPrincipalByGroupName(group);
        Files.getFileAttributeView(bound, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
            .setGroup(owner);
      } catch (UserPrincipalNotFoundException e) {
        throw fail("group '" + group + "' of " + path + " does not exist: create it or name"
            + " another group for this proxy consumer", e);
      } catch (IOException e) {
        throw fail("cannot give " + path + " the group '" + group + "': " + e.getMessage()
            + "; the sidecar must run as root or be a member of that group", e);
      }
    }
    try {
      Files.setPosixFilePermissions(bound,
          PosixFilePermissions.fromString(groupAccess ? "rw-rw----" : "rw-------"));
      Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      throw fail("cannot rename " + bound + " onto " + path + " atomically: " + e.getMessage(), e);
    } catch (IOException | UnsupportedOperationException e) {
      throw fail("cannot secure the proxy socket " + bound + " (mode "
          + (groupAccess ? "0660" : "0600") + ") and move it to " + path + ": " + e, e);
    }
  }

  /** Removes the socket file; a missing file is fine. */
  void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("QMP proxy: cannot remove {}: {}; remove it by hand", file, e.getMessage());
    }
  }

  private static boolean isSocket(Path p) {
    try {
      int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & S_IFMT) == S_IFSOCK;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static boolean listening(Path p) {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(p))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private QmpProxyException fail(String message) {
    return new QmpProxyException(path.toString(), "QMP proxy cannot start: " + message);
  }

  private QmpProxyException fail(String message, Throwable cause) {
    return new QmpProxyException(path.toString(), "QMP proxy cannot start: " + message, cause);
  }
}
