package io.qmpsidecar.qmp;

import java.time.Duration;

/** A command got no reply within its timeout. QEMU may still run it; its late reply is dropped. */
public class QmpTimeoutException extends QmpException {
  private final String command;
  private final Duration timeout;

  public QmpTimeoutException(String command, Duration timeout) {
    super("QMP command '" + command + "' got no reply within " + timeout.toMillis()
        + " ms; QEMU may be stopped or busy (check the VM), or raise the timeout");
    this.command = command;
    this.timeout = timeout;
  }

  public String command() {
    return command;
  }

  public Duration timeout() {
    return timeout;
  }
}
