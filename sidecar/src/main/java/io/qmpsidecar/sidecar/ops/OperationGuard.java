package io.qmpsidecar.sidecar.ops;

import io.vertx.core.Future;

/**
 * Asked by the operations layer before an attach, a detach or a migration goes ahead, in the
 * VM's turn: it may refuse the operation. The daemon wires in the configured {@code prepare}
 * hooks (an entry point below which this layer never looks); {@link #NONE} lets everything go.
 */
@FunctionalInterface
public interface OperationGuard {
  /** Lets every operation go ahead. */
  OperationGuard NONE = operation -> Future.succeededFuture();

  /**
   * Decides whether {@code operation} may go ahead. Must not block: the answer comes later.
   *
   * @return completes when it may; fails with a
   *     {@link io.qmpsidecar.sidecar.failure.SidecarException} saying why not ({@code DENIED}
   *     when refused, {@code BUSY} when it cannot be asked now)
   */
  Future<Void> prepare(GuardedOperation operation);
}
