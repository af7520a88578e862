package io.qmpsidecar.libvirt;

/**
 * The call was not sent: the client is not connected (libvirtd is down or restarting and the
 * client is reconnecting), it is closed, or too many calls are already waiting.
 */
public final class LibvirtUnavailableException extends LibvirtClientException {
  public LibvirtUnavailableException(String operation, String message, Throwable cause) {
    super(operation, operation + ": " + message, cause);
  }

  public LibvirtUnavailableException(String operation, String message) {
    this(operation, message, null);
  }
}
