package io.qmpsidecar.libvirt;

import java.time.Duration;

/**
 * A call did not finish within its timeout. The libvirt call itself may still complete later
 * (libvirt offers no way to cancel it); its worker stays busy until then.
 */
public final class LibvirtTimeoutException extends LibvirtClientException {
  private final Duration timeout;

  public LibvirtTimeoutException(String operation, Duration timeout) {
    super(operation, operation + ": no answer from libvirtd within " + timeout.toMillis()
        + " ms; check that libvirtd is running and not stuck (virsh list), then retry");
    this.timeout = timeout;
  }

  public Duration timeout() {
    return timeout;
  }
}
