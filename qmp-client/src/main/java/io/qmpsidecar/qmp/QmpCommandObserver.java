package io.qmpsidecar.qmp;

/**
 * Told how each command it observes ended: QEMU's answer, a failure, a timeout, or never sent.
 * Attach one to a command with {@link QmpCommand#observedBy}, or to every command of a view of
 * a connection with {@link QmpConnection#observedBy}. Called once per command, on the
 * connection's event loop: it must not block.
 */
@FunctionalInterface
public interface QmpCommandObserver {

  /**
   * @param name the command's name
   * @param id the QMP {@code id} it was sent with, or -1 when it was never sent
   * @param nanos from submission to its end
   * @param failure why it failed (e.g. a {@link QmpCommandException} with QEMU's error), or null
   *     when QEMU returned a value
   */
  void completed(String name, long id, long nanos, Throwable failure);
}
