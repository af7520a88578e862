package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayConnectionException;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.RelayOverloadedException;
import io.qmpsidecar.relay.impl.store.OutboxStore;
import io.qmpsidecar.relay.impl.store.OutboxStore.Entry;
import io.qmpsidecar.relay.impl.store.StoreState;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The host's outbox on its event loop: queues notifications (bounded), stores them in group
 * commits on the store's worker, numbers them, keeps the newest ones in a bounded cache for the
 * live link, and prunes what the DPU acknowledged. Runs on the host's context only.
 */
final class Outbox {

  /**
   * Acks not yet stored that make an idle outbox store them in a commit of their own; otherwise
   * they ride along with the next notifications' commit. An ack stored late costs nothing: after
   * a restart the DPU's own {@code lastAcked} decides where the replay starts.
   */
  static final long IDLE_ACK_BATCH = 256;

  /** Recently committed messages kept in memory for sending without a store read. */
  static final int RECENT_ENTRIES = 16_384;
  static final long RECENT_CHARS = 8L * 1024 * 1024;

  private record Queued(Notification notification, Promise<Long> promise) {}

  private record Reservation(long dpuAcked, Promise<Long> promise) {}

  private final OutboxStore store;
  private final int maxPending;
  private final int batchSize;
  private final int maxMessageBytes;
  private final long maxEntries;
  private final Runnable onCommitted;
  private final ArrayDeque<Queued> queued = new ArrayDeque<>();
  private final ArrayDeque<Reservation> reservations = new ArrayDeque<>();
  private final RecentEntries recent = new RecentEntries(RECENT_ENTRIES, RECENT_CHARS);
  private long committedUpTo;
  private long firstRetained;
  private long acked;
  private long ackedInStore;
  private boolean writing;
  private boolean closed;

  Outbox(OutboxStore store, StoreState state, int maxPending, int batchSize, int maxMessageBytes,
      long maxEntries, Runnable onCommitted) {
    this.store = store;
    this.maxPending = maxPending;
    this.batchSize = batchSize;
    this.maxMessageBytes = maxMessageBytes;
    this.maxEntries = maxEntries;
    this.onCommitted = onCommitted;
    this.committedUpTo = state.lastSeq();
    this.firstRetained = Math.max(state.firstRetained(), state.lastAcked() + 1);
    this.acked = state.lastAcked();
    this.ackedInStore = state.lastAcked();
  }

  Future<Long> append(Notification notification) {
    if (closed) {
      return Future.failedFuture(new RelayConnectionException("the relay host is closed; notifications are no longer accepted"));
    }
    if (queued.size() >= maxPending) {
      return Future.failedFuture(new RelayOverloadedException(queued.size()
          + " notifications are waiting to be stored; the store is too slow or stuck, check its disk", maxPending));
    }
    Promise<Long> promise = Promise.promise();
    queued.add(new Queued(notification, promise));
    flush();
    return promise.future();
  }

  /** The DPU processed everything up to {@code seq}. */
  void ack(long seq) {
    if (seq <= acked) {
      return;
    }
    acked = Math.min(seq, committedUpTo);
    firstRetained = Math.max(firstRetained, acked + 1);
    recent.dropThrough(acked);
    flush();
  }

  /**
   * A DPU acknowledged {@code dpuAcked}, which this store never issued (it was reset): numbering
   * continues after it, and one number is reserved for the state snapshot that replaces what the
   * DPU cannot get; it must be above {@code dpuAcked}, or the DPU would drop it as a duplicate.
   * Notifications stored meanwhile with lower numbers are dropped: the snapshot covers them.
   *
   * @return completes with the reserved number once the store moved past it
   */
  Future<Long> reserveAfter(long dpuAcked) {
    Promise<Long> promise = Promise.promise();
    reservations.add(new Reservation(dpuAcked, promise));
    flush();
    return promise.future();
  }

  long committedUpTo() {
    return committedUpTo;
  }

  long firstRetained() {
    return firstRetained;
  }

  /** Stored or waiting to be stored, and not yet acknowledged by the DPU. */
  long unacknowledged() {
    return Math.max(0, committedUpTo - acked) + queued.size();
  }

  long acked() {
    return acked;
  }

  /** The committed entry {@code seq} if it is still cached, else null (read it from the store). */
  Entry recent(long seq) {
    return recent.get(seq);
  }

  Future<List<Entry>> read(long fromSeq, int limit) {
    return store.read(fromSeq, limit);
  }

  /** Fails what is still queued; stored entries stay for the next start. */
  void close() {
    closed = true;
    reservations.forEach(r -> r.promise().fail(new RelayConnectionException("the relay host closed")));
    reservations.clear();
    for (Queued q : queued) {
      q.promise().fail(new RelayConnectionException("the relay host closed before this notification was stored"));
    }
    queued.clear();
  }

  private void flush() {
    if (writing || closed) {
      return;
    }
    if (!reservations.isEmpty()) {
      Reservation r = reservations.poll();
      long reserved = Math.max(committedUpTo, r.dpuAcked()) + 1;
      committedUpTo = reserved;
      firstRetained = Math.max(firstRetained, reserved + 1);
      acked = Math.max(acked, r.dpuAcked());
      recent.clear();
      writing = true;
      store.skipTo(reserved).onComplete(ar -> {
        writing = false;
        if (ar.succeeded()) {
          r.promise().complete(reserved);
        } else {
          r.promise().fail(ar.cause());
        }
        flush();
      });
      return;
    }
    if (queued.isEmpty()) {
      if (acked - ackedInStore >= IDLE_ACK_BATCH) {
        long target = acked;
        writing = true;
        store.acked(target).onComplete(ar -> {
          writing = false;
          if (ar.succeeded()) {
            ackedInStore = Math.max(ackedInStore, target);
          }
          flush();
        });
      }
      return;
    }
    List<Queued> batch = new ArrayList<>(Math.min(batchSize, queued.size()));
    while (batch.size() < batchSize && !queued.isEmpty()) {
      batch.add(queued.poll());
    }
    List<Notification> notifications = new ArrayList<>(batch.size());
    for (Queued q : batch) {
      notifications.add(q.notification());
    }
    writing = true;
    long ackTarget = acked;
    store.append(notifications, committedUpTo + 1, maxMessageBytes, maxEntries, ackTarget).onComplete(ar -> {
      writing = false;
      if (ar.failed()) {
        batch.forEach(q -> q.promise().fail(ar.cause()));
      } else {
        ackedInStore = Math.max(ackedInStore, ackTarget);
        committed(batch, ar.result());
      }
      flush();
    });
  }

  private void committed(List<Queued> batch, OutboxStore.Appended appended) {
    for (int i = 0; i < batch.size(); i++) {
      Entry e = appended.entries().get(i);
      if (e == null) {
        batch.get(i).promise().fail(new RelayErrorException(RelayError.of(ErrorCode.MESSAGE_TOO_LARGE,
            batch.get(i).notification().method() + " notification exceeds " + maxMessageBytes
                + " bytes and was not stored; send less per notification")));
        continue;
      }
      committedUpTo = e.seq();
      recent.add(e);
    }
    firstRetained = Math.max(firstRetained, appended.firstRetained());
    recent.dropThrough(firstRetained - 1);
    for (int i = 0; i < batch.size(); i++) {
      Entry e = appended.entries().get(i);
      if (e != null) {
        batch.get(i).promise().complete(e.seq());
      }
    }
    onCommitted.run();
  }
}
