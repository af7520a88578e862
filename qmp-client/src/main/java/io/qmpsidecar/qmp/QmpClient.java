package io.qmpsidecar.qmp;

import io.qmpsidecar.qmp.impl.QmpClientImpl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.function.Consumer;

/**
 * Opens QMP connections to one QEMU monitor. Immutable after creation; closing it closes every
 * connection it opened.
 */
public interface QmpClient {

  static QmpClient create(Vertx vertx, QmpClientOptions options) {
    return new QmpClientImpl(vertx, options);
  }

  /**
   * Connects, reads the greeting and negotiates capabilities ({@code oob} when offered and
   * enabled). The connection runs on the caller's event loop when called from one.
   *
   * @return the ready connection; fails with {@link QmpConnectionException} when the socket
   *     cannot be opened within the connect timeout or QEMU does not greet and negotiate within
   *     the greeting timeout. The first attempt is not retried; the reconnect policy applies
   *     once a connection was ready.
   */
  Future<QmpConnection> connect();

  /**
   * Like {@link #connect()}, but first hands the connection to {@code beforeOpen} (on the
   * connection's event loop, before the socket opens) so that subscriptions and state listeners
   * see everything, including events QEMU sends before its greeting.
   */
  Future<QmpConnection> connect(Consumer<QmpConnection> beforeOpen);

  QmpClientOptions options();

  /** Closes every connection this client opened and releases its sockets. */
  Future<Void> close();
}
