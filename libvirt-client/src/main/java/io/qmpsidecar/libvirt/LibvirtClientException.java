package io.qmpsidecar.libvirt;

/** Root of every error the libvirt client reports. Unchecked; subclasses say which kind. */
public class LibvirtClientException extends RuntimeException {
  private final String operation;

  public LibvirtClientException(String operation, String message, Throwable cause) {
    super(message, cause);
    this.operation = operation;
  }

  public LibvirtClientException(String operation, String message) {
    this(operation, message, null);
  }

  /** The client operation that failed, e.g. {@code attachDevice web1}. */
  public String operation() {
    return operation;
  }
}
