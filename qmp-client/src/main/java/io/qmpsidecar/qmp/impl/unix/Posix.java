package io.qmpsidecar.qmp.impl.unix;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.file.Path;

/**
 * The three POSIX calls fd passing needs, through JNA: {@code open(2)}, {@code close(2)} and
 * {@code sendmsg(2)} with {@code SCM_RIGHTS}. Netty's native transport can send a descriptor
 * only together with one byte of undefined value, which QEMU would read as part of the JSON
 * stream; here the bytes that carry the descriptors are chosen by the caller. The structure
 * layouts are those of 64-bit Linux (x86_64 and aarch64 share them).
 */
public final class Posix {
  /** QEMU's chardev takes at most this many descriptors from one message (TCP_MAX_FDS). */
  public static final int MAX_FDS_PER_MESSAGE = 16;

  private static final int O_RDONLY = 0;
  private static final int O_RDWR = 2;
  private static final int O_NOCTTY = 0x100;
  private static final int O_CLOEXEC = 0x80000;
  private static final int SOL_SOCKET = 1;
  private static final int SCM_RIGHTS = 1;
  private static final int MSG_DONTWAIT = 0x40;
  private static final int MSG_NOSIGNAL = 0x4000;
  private static final int EAGAIN = 11;
  private static final int EINTR = 4;

  /** The C library's functions; a failing call throws {@link LastErrorException} with errno. */
  private interface LibC extends Library {
    int open(String path, int flags) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    long sendmsg(int socket, Pointer message, int flags) throws LastErrorException;

    String strerror(int errno);
  }

  private static final class Holder {
    static final LibC LIBC = Native.load("c", LibC.class);
  }

  private Posix() {}

  /** Null when this platform is supported, else why not. */
  public static String unsupportedReason() {
    if (!Platform.isLinux() || Native.POINTER_SIZE != 8) {
      return "fd passing is implemented for 64-bit Linux only (this is " + System.getProperty("os.name")
          + " " + System.getProperty("os.arch") + ")";
    }
    return null;
  }

  /**
   * {@code open(path, O_RDONLY|O_RDWR | O_CLOEXEC | O_NOCTTY)}.
   *
   * @throws IOException naming the path and the system's reason
   */
  public static int open(Path path, boolean writable) throws IOException {
    requireSupported();
    try {
      return Holder.LIBC.open(path.toString(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
    } catch (LastErrorException e) {
      throw new IOException("cannot open " + path + (writable ? " for reading and writing" : " for reading")
          + ": " + describe(e.getErrorCode()), e);
    }
  }

  /** {@code close(fd)}; EINTR counts as closed, as on Linux the descriptor is gone then. */
  public static void close(int fd) throws IOException {
    try {
      Holder.LIBC.close(fd);
    } catch (LastErrorException e) {
      if (e.getErrorCode() != EINTR) {
        throw new IOException("cannot close file descriptor " + fd + ": " + describe(e.getErrorCode()), e);
      }
    }
  }

  /**
   * Sends {@code data} on the stream socket {@code socket} in one {@code sendmsg} that carries
   * {@code fds} as {@code SCM_RIGHTS}, without blocking.
   *
   * @throws IOException when the kernel refuses it or takes only part of {@code data}; nothing
   *     of the data was sent unless the message says so
   */
  public static void sendWithFds(int socket, byte[] data, int[] fds) throws IOException {
    requireSupported();
    if (data.length == 0 || fds.length == 0 || fds.length > MAX_FDS_PER_MESSAGE) {
      throw new IllegalArgumentException("sendWithFds needs data and 1-" + MAX_FDS_PER_MESSAGE
          + " descriptors, got " + data.length + " bytes and " + fds.length + " descriptors");
    }
    Memory payload = new Memory(data.length);
    payload.write(0, data, 0, data.length);
    Memory iov = new Memory(16);
    iov.setPointer(0, payload);
    iov.setLong(8, data.length);
    // struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; } then the descriptors.
    long cmsgLen = 16 + 4L * fds.length;
    Memory control = new Memory((cmsgLen + 7) & ~7L);
    control.clear();
    control.setLong(0, cmsgLen);
    control.setInt(8, SOL_SOCKET);
    control.setInt(12, SCM_RIGHTS);
    control.write(16, fds, 0, fds.length);
    // struct msghdr: name, namelen (+pad), iov, iovlen, control, controllen, flags (+pad).
    Memory message = new Memory(56);
    message.clear();
    message.setPointer(16, iov);
    message.setLong(24, 1);
    message.setPointer(32, control);
    message.setLong(40, control.size());
    long sent;
    try {
      sent = Holder.LIBC.sendmsg(socket, message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } catch (LastErrorException e) {
      throw new IOException(e.getErrorCode() == EAGAIN
          ? "the socket's send buffer is full (QEMU is not reading its monitor)"
          : "sendmsg failed: " + describe(e.getErrorCode()), e);
    } finally {
      // The native memory must outlive the call: the JIT may otherwise free it early.
      Reference.reachabilityFence(payload);
      Reference.reachabilityFence(iov);
      Reference.reachabilityFence(control);
      Reference.reachabilityFence(message);
    }
    if (sent != data.length) {
      throw new IOException("sendmsg sent " + sent + " of " + data.length + " bytes");
    }
  }

  private static void requireSupported() throws IOException {
    String reason = unsupportedReason();
    if (reason != null) {
      throw new IOException(reason);
    }
  }

  private static String describe(int errno) {
    return Holder.LIBC.strerror(errno) + " (errno " + errno + ")";
  }
}
