package io.qmpsidecar.sidecar.migration;

import io.qmpsidecar.qmp.QmpCommandException;
import io.vertx.core.Future;

/** Turns QEMU's refusals of migration commands into {@link MigrationQemuException}s. */
final class QemuErrors {
  private QemuErrors() {}

  /** {@code future}, failing with {@link MigrationQemuException} instead of a {@link QmpCommandException}. */
  static <T> Future<T> wrap(String vm, Future<T> future) {
    return future.recover(e -> Future.failedFuture(
        e instanceof QmpCommandException q ? new MigrationQemuException(vm, q) : e));
  }
}
