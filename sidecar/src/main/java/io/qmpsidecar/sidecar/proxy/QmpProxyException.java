package io.qmpsidecar.sidecar.proxy;

/** The proxy socket could not be set up: the path is taken, or cannot be created or secured. */
public class QmpProxyException extends RuntimeException {
  private final String socketPath;

  public QmpProxyException(String socketPath, String message) {
    super(message);
    this.socketPath = socketPath;
  }

  public QmpProxyException(String socketPath, String message, Throwable cause) {
    super(message, cause);
    this.socketPath = socketPath;
  }

  /** The socket path the proxy was asked to serve. */
  public String socketPath() {
    return socketPath;
  }
}
