package io.qmpsidecar.sidecar.state;

import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * One daemon per state directory and per API socket: a second one would share the first one's
 * stores and event epochs, or delete its socket and take its clients. Each is guarded by a lock
 * file ({@code STATEDIR/qmp-sidecar.lock}, {@code SOCKET.lock} beside the socket); the lock is the
 * kernel's, released when the process ends however it ends, and the file holds the pid of its
 * holder for the refusal's message.
 */
public final class DaemonLock implements AutoCloseable {
  /** The lock file in the state directory. */
  public static final String FILE_NAME = "qmp-sidecar.lock";
  /** Appended to the API socket's name for its lock file. */
  public static final String SOCKET_SUFFIX = ".lock";

  private final List<FileChannel> held;

  private DaemonLock(List<FileChannel> held) {
    this.held = List.copyOf(held);
  }

  /**
   * Takes the locks of {@code stateDir} and of {@code apiSocket}, whose directories exist, or
   * neither. Blocking: call it off the event loop.
   *
   * @throws SidecarException {@link Kind#CONFLICT} ({@code state-dir-in-use}, {@code api-socket-in-use})
   *     naming the other daemon's pid when another daemon holds one of them
   */
  public static DaemonLock acquire(Path stateDir, Path apiSocket) throws IOException {
    List<FileChannel> held = new ArrayList<>();
    try {
      held.add(take(stateDir.resolve(FILE_NAME), "the state directory " + stateDir, "state-dir-in-use"));
      held.add(take(apiSocket.resolveSibling(apiSocket.getFileName() + SOCKET_SUFFIX), "the API socket " + apiSocket,
          "api-socket-in-use"));
      return new DaemonLock(held);
    } catch (IOException | RuntimeException e) {
      new DaemonLock(held).close();
      throw e;
    }
  }

  private static FileChannel take(Path file, String what, String code) throws IOException {
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    } catch (IOException e) {
      channel.close();
      throw e;
    }
    if (lock == null) {
      channel.close();
      String holder = Files.readString(file, StandardCharsets.US_ASCII).strip();
      throw SidecarException.of(Kind.CONFLICT, code, "another qmp-sidecar"
          + (holder.isEmpty() ? "" : " (pid " + holder + ")") + " uses " + what + " (lock " + file + ")")
          .detail("lock", file.toString())
          .fix("stop it, or give this daemon its own stateDir and api.socket").build();
    }
    channel.truncate(0);
    channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    channel.force(false);
    return channel;
  }

  /** Releases the locks (closing a channel releases its lock); the files stay, they hold no state. */
  @Override
  public void close() {
    IOException failed = null;
    for (FileChannel channel : held) {
      try {
        channel.close();
      } catch (IOException e) {
        failed = e;
      }
    }
    if (failed != null) {
      throw new UncheckedIOException("cannot release a lock of the daemon", failed);
    }
  }
}
