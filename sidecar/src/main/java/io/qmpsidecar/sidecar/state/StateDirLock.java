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

/**
 * One daemon per state directory: a second one would share its stores and event epochs. The lock
 * is the kernel's (released when the process ends, however it ends); the file holds the pid of its
 * holder for the refusal's message.
 */
public final class StateDirLock implements AutoCloseable {
  public static final String FILE_NAME = "qmp-sidecar.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private StateDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Takes the lock of {@code stateDir}, which exists. Blocking: call it off the event loop.
   *
   * @throws SidecarException {@link Kind#CONFLICT} ({@code state-dir-in-use}) when another daemon holds it
   */
  public static StateDirLock acquire(Path stateDir) throws IOException {
    Path file = stateDir.resolve(FILE_NAME);
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
        StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      channel.close();
      String holder = Files.readString(file, StandardCharsets.US_ASCII).strip();
      throw SidecarException.of(Kind.CONFLICT, "state-dir-in-use", "another qmp-sidecar"
          + (holder.isEmpty() ? "" : " (pid " + holder + ")") + " uses the state directory " + stateDir)
          .detail("stateDir", stateDir.toString())
          .fix("stop it, or give this daemon its own stateDir and api.socket").build();
    }
    channel.truncate(0);
    channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    channel.force(false);
    return new StateDirLock(channel, lock);
  }

  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot release the state directory's lock " + FILE_NAME, e);
    }
  }
}
