package io.qmpsidecar.relay;

import java.time.Duration;

/** A request got no answer within its timeout; carries the method and the timeout. */
public class RelayTimeoutException extends RelayException {

  private final String method;
  private final Duration timeout;

  public RelayTimeoutException(String method, Duration timeout) {
    super(method + " got no answer within " + timeout.toMillis()
        + " ms; check that the peer is alive and not overloaded, then retry with the same opId");
    this.method = method;
    this.timeout = timeout;
  }

  public String method() {
    return method;
  }

  public Duration timeout() {
    return timeout;
  }
}
