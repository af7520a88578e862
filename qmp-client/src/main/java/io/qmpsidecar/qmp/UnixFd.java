package io.qmpsidecar.qmp;

import io.qmpsidecar.qmp.impl.unix.Posix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file descriptor this process opened, to hand to QEMU with
 * {@link QmpConnection#executeWithFds}. QEMU receives a duplicate: this one stays the caller's
 * and must stay open until the command's future completes; close it then (closing twice is a
 * no-op). Opened with {@code O_CLOEXEC}, so no child process inherits it.
 */
public final class UnixFd implements AutoCloseable {
  private final AtomicInteger fd;
  private final String origin;

  private UnixFd(int fd, String origin) {
    this.fd = new AtomicInteger(fd);
    this.origin = origin;
  }

  /**
   * Opens {@code path} for reading ({@code O_RDONLY}).
   *
   * @throws IOException naming the path and the system's reason (e.g. permission denied)
   */
  public static UnixFd openReadOnly(Path path) throws IOException {
    return new UnixFd(Posix.open(path, false), path.toString());
  }

  /**
   * Opens {@code path} for reading and writing ({@code O_RDWR}), as device nodes such as
   * {@code /dev/iommu} or {@code /dev/vfio/devices/vfioN} need.
   *
   * @throws IOException naming the path and the system's reason (e.g. permission denied)
   */
  public static UnixFd openReadWrite(Path path) throws IOException {
    return new UnixFd(Posix.open(path, true), path.toString());
  }

  /**
   * The descriptor's number in this process.
   *
   * @throws IllegalStateException when it was closed
   */
  public int intValue() {
    int value = fd.get();
    if (value < 0) {
      throw new IllegalStateException("file descriptor of " + origin + " is closed");
    }
    return value;
  }

  public boolean isOpen() {
    return fd.get() >= 0;
  }

  /**
   * Closes it in this process; QEMU's duplicate, if it got one, stays open in QEMU.
   *
   * @throws UncheckedIOException when the system reports an error (the descriptor is released
   *     all the same)
   */
  @Override
  public void close() {
    int value = fd.getAndSet(-1);
    if (value >= 0) {
      try {
        Posix.close(value);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public String toString() {
    int value = fd.get();
    return "fd " + (value < 0 ? "(closed)" : value) + " of " + origin;
  }
}
