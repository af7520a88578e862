package io.qmpsidecar.qmp;

/**
 * The command was refused at once because the connection's queue of waiting commands is full.
 * The caller is sending faster than QEMU answers: slow down, or raise
 * {@link QmpClientOptions#maxQueuedCommands()}.
 */
public class QmpQueueFullException extends QmpException {
  private final int capacity;

  public QmpQueueFullException(String command, int capacity) {
    super("QMP command '" + command + "' refused: " + capacity
        + " commands already wait for QEMU; slow down or raise maxQueuedCommands");
    this.capacity = capacity;
  }

  public int capacity() {
    return capacity;
  }
}
