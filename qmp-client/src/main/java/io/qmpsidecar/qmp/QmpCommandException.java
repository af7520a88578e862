package io.qmpsidecar.qmp;

/** QEMU answered a command with an error. Keeps QEMU's error class and text unchanged. */
public class QmpCommandException extends QmpException {
  private final String command;
  private final String errorClass;
  private final String description;

  public QmpCommandException(String command, String errorClass, String description) {
    super("QMP command '" + command + "' failed: " + errorClass + ": " + description);
    this.command = command;
    this.errorClass = errorClass;
    this.description = description;
  }

  /** The QMP command name that failed. */
  public String command() {
    return command;
  }

  /** QEMU's error class, e.g. {@code GenericError} or {@code DeviceNotFound}. */
  public String errorClass() {
    return errorClass;
  }

  /** QEMU's error text ({@code desc}), exactly as QEMU sent it. */
  public String description() {
    return description;
  }
}
