package io.qmpsidecar.qmp;

/**
 * File descriptors could not be passed with a command, so the command was not sent: the
 * connection is not a Unix socket, Vert.x does not run on its native transport, a descriptor is
 * closed, or the kernel refused the {@code sendmsg}. The message says which and what to do.
 */
public class QmpFdPassingException extends QmpException {
  public QmpFdPassingException(String message) {
    super(message);
  }

  public QmpFdPassingException(String message, Throwable cause) {
    super(message, cause);
  }
}
