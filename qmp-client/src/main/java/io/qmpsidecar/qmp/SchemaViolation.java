package io.qmpsidecar.qmp;

/**
 * One way a command does not fit QEMU's schema. {@code path} names the field, e.g.
 * {@code arguments.capabilities[0].state}; {@code message} says what is wrong.
 */
public record SchemaViolation(String path, String message) {
  @Override
  public String toString() {
    return path + ": " + message;
  }
}
