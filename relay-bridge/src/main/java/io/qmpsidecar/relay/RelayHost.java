package io.qmpsidecar.relay;

import io.qmpsidecar.relay.impl.RelayHostImpl;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;

/**
 * The host end of the relay: dials the DPU endpoint, keeps the link up, serves the DPU's requests
 * through a {@link RequestExecutor} after a {@link RequestAuthorizer} allowed them, and delivers
 * notifications exactly once and in order through a durable outbox. At start it hands every
 * operation an earlier run left unfinished to {@link RequestExecutor#resume} and sends its end.
 */
public interface RelayHost {

  /**
   * Opens the store and starts dialing.
   *
   * @return completes with the running host once the store is open (the link comes up later,
   *     see {@link #linkStateHandler}); fails with {@link RelayStoreException} when the SQLite
   *     file cannot be opened, is corrupt or is used by another process, and with
   *     {@link IllegalArgumentException} when plain transport is asked for a non-loopback address
   */
  static Future<RelayHost> start(Vertx vertx, RelayHostOptions options, RequestExecutor executor,
      RequestAuthorizer authorizer) {
    return RelayHostImpl.start(vertx, options, executor, authorizer);
  }

  /**
   * Numbers a notification and sends it when the link is up (before it is stored: see
   * docs/relay-protocol.md, "Sent, then stored"), stores it in the next group commit, and resends
   * it after reconnects until the DPU acknowledges it. Notifications passed from one thread are
   * numbered in the order of the calls (so a {@code device.deleted} notified before the
   * {@code op.completed} it completes is received before it). An {@code op.completed} or
   * {@code op.failed} is sent once stored, and marks its operation ended in the same commit: an
   * operation whose end was stored is never resumed after a restart. A failed commit is retried.
   *
   * @return completes with the notification's sequence number once it is durably stored; fails
   *     with {@link RelayOverloadedException} when {@link RelayHostOptions#maxPendingNotifications}
   *     are already waiting, {@link RelayErrorException} ({@link ErrorCode#MESSAGE_TOO_LARGE}) when
   *     it is larger than {@link RelayHostOptions#maxMessageBytes}, {@link RelayConnectionException}
   *     after close or when the close could not store it, {@link RelayStoreException} when the
   *     close's last write failed
   */
  Future<Long> notify(Notification notification);

  /** Called on the host's context at every change of the link; replaces any previous handler. */
  RelayHost linkStateHandler(Handler<LinkState> handler);

  /**
   * Notifications the DPU has not acknowledged yet: stored in the outbox or waiting to be
   * stored. Read from any thread for monitoring; exact only on the host's context.
   */
  long unacknowledged();

  /** This process's session epoch: larger than that of every earlier start on the same store. */
  long epoch();

  /** Stops dialing, closes the link and the store; completes when all of it is done. */
  Future<Void> close();
}
