package io.qmpsidecar.relay.impl;

import io.qmpsidecar.relay.ErrorCode;
import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayConnectionException;
import io.qmpsidecar.relay.RelayError;
import io.qmpsidecar.relay.RelayErrorException;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.RelayOverloadedException;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.qmpsidecar.relay.impl.store.OutboxStore;
import io.qmpsidecar.relay.impl.store.OutboxStore.Entry;
import io.qmpsidecar.relay.impl.store.OutboxStore.Item;
import io.qmpsidecar.relay.impl.store.StoreState;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's outbox on its event loop. A notification is numbered and encoded when it is
 * appended and may be sent at once; it is stored in the next group commit on the store's worker,
 * and leaves the outbox when it is both stored and acknowledged. Two limits on sending: a number
 * above the store's durable reservation waits for it (so a crash never lets a number be used
 * twice), and an operation's end (op.completed, op.failed) waits until it is stored (so a
 * restarted host resumes exactly the operations whose end the DPU cannot have seen). Keeps the
 * newest stored entries in a bounded cache for the live link. Runs on the host's context only.
 */
final class Outbox {

  private static final Logger log = LoggerFactory.getLogger(Outbox.class);

  /**
   * Acks not yet stored that make an idle outbox store them in a commit of their own; otherwise
   * they ride along with the next notifications' commit. An ack stored late costs nothing: after
   * a restart the DPU's own {@code lastAcked} decides where the replay starts.
   */
  static final long IDLE_ACK_BATCH = 256;

  /**
   * Numbers reserved ahead in the store: at most this many numbers are skipped after a crash.
   * The reservation is extended, in a commit that stores notifications anyway, once less than
   * half of it is left.
   */
  static final long RESERVATION = 65_536;

  /** Recently committed messages kept in memory for sending without a store read. */
  static final int RECENT_ENTRIES = 16_384;
  static final long RECENT_CHARS = 8L * 1024 * 1024;

  /** Wait before a failed commit is tried again; the notifications stay queued meanwhile. */
  static final long RETRY_MS = 1000;

  private record Queued(Item item, Promise<Long> promise) {}

  private record Skip(long seq, Promise<Long> promise) {}

  private final Vertx vertx;
  private final OutboxStore store;
  private final int maxPending;
  private final int batchSize;
  private final int maxMessageBytes;
  private final long maxEntries;
  private final Runnable onSendable;
  private final ArrayDeque<Queued> queued = new ArrayDeque<>();
  private final RecentEntries unstored;
  private final ArrayDeque<Long> unstoredEnds = new ArrayDeque<>();
  private final RecentEntries recent = new RecentEntries(RECENT_ENTRIES, RECENT_CHARS);
  private Skip skip;
  /** The numbers skipped at this start (the crashed run's reservation), none when from > to. */
  private final long skippedFrom;
  private final long skippedTo;
  private long issuedUpTo;
  private long storedUpTo;
  private long reserved;
  private long firstRetained;
  private long acked;
  private long ackedInStore;
  private boolean writing;
  private boolean closed;
  private Promise<Void> drained;

  Outbox(Vertx vertx, OutboxStore store, StoreState state, int maxPending, int batchSize, int maxMessageBytes,
      long maxEntries, Runnable onSendable) {
    this.vertx = vertx;
    this.store = store;
    this.maxPending = maxPending;
    this.batchSize = batchSize;
    this.maxMessageBytes = maxMessageBytes;
    this.maxEntries = maxEntries;
    this.onSendable = onSendable;
    this.unstored = new RecentEntries(maxPending + batchSize, Long.MAX_VALUE);
    this.skippedFrom = state.skippedFrom() > 0 ? state.skippedFrom() : state.lastSeq() + 1;
    this.skippedTo = state.lastSeq();
    this.issuedUpTo = state.lastSeq();
    this.storedUpTo = state.lastSeq();
    this.reserved = state.reserved();
    this.firstRetained = Math.max(state.firstRetained(), state.lastAcked() + 1);
    this.acked = state.lastAcked();
    this.ackedInStore = state.lastAcked();
  }

  /**
   * Numbers and queues a notification; it is sendable at once (see the class comment).
   *
   * @return completes with its number once it is stored
   */
  Future<Long> append(Notification notification) {
    if (closed) {
      return Future.failedFuture(new RelayConnectionException("the relay host is closed; notifications are no longer accepted"));
    }
    if (queued.size() >= maxPending) {
      return Future.failedFuture(new RelayOverloadedException(queued.size()
          + " notifications are waiting to be stored; the store is too slow or stuck, check its disk", maxPending));
    }
    long seq = issuedUpTo + 1;
    String text = JsonRpcCodec.sequencedNotification(notification.method(), seq, notification.params());
    if (text.length() > maxMessageBytes / 3 && text.getBytes(StandardCharsets.UTF_8).length > maxMessageBytes) {
      return Future.failedFuture(new RelayErrorException(RelayError.of(ErrorCode.MESSAGE_TOO_LARGE,
          notification.method() + " notification exceeds " + maxMessageBytes
              + " bytes and was not stored; send less per notification")));
    }
    issuedUpTo = seq;
    Entry entry = new Entry(seq, text);
    String endsOp = endsOperation(notification);
    if (endsOp != null) {
      unstoredEnds.add(seq);
    }
    unstored.add(entry);
    Promise<Long> promise = Promise.promise();
    queued.add(new Queued(new Item(entry, endsOp), promise));
    flush();
    if (endsOp == null && seq <= sendableUpTo()) {
      onSendable.run();
    }
    return promise.future();
  }

  private static String endsOperation(Notification n) {
    boolean end = RelayMethods.OP_COMPLETED.equals(n.method()) || RelayMethods.OP_FAILED.equals(n.method());
    Object opId = n.params().get("opId");
    return end && opId != null ? String.valueOf(opId) : null;
  }

  /** The DPU processed everything up to {@code seq}. */
  void ack(long seq) {
    if (seq <= acked) {
      return;
    }
    acked = Math.min(seq, issuedUpTo);
    firstRetained = Math.max(firstRetained, acked + 1);
    recent.dropThrough(acked);
    flush();
  }

  /**
   * A DPU acknowledged {@code dpuAcked}, which this host never issued (its store was reset):
   * numbering continues after it, and one number is reserved for the state snapshot that replaces
   * what the DPU cannot get; it must be above {@code dpuAcked}, or the DPU would drop it as a
   * duplicate. Notifications numbered before it are never sent: the snapshot covers them.
   *
   * @return completes with the reserved number once the store moved past it
   */
  Future<Long> reserveAfter(long dpuAcked) {
    if (skip != null) {
      skip.promise().fail(new RelayConnectionException("a newer DPU hello replaced this reservation"));
    }
    long seq = Math.max(issuedUpTo, dpuAcked) + 1;
    issuedUpTo = seq;
    acked = Math.max(acked, dpuAcked);
    firstRetained = Math.max(firstRetained, seq + 1);
    recent.clear();
    skip = new Skip(seq, Promise.promise());
    Future<Long> future = skip.promise().future();
    flush();
    return future;
  }

  /** The last number issued: notifications up to it are reflected in the host's state. */
  long issuedUpTo() {
    return issuedUpTo;
  }

  /** The last number stored (or skipped after a crash). */
  long storedUpTo() {
    return storedUpTo;
  }

  /** The highest number that may be sent now. */
  long sendableUpTo() {
    long limit = Math.min(issuedUpTo, reserved);
    Long end = unstoredEnds.peekFirst();
    return end == null ? limit : Math.min(limit, end - 1);
  }

  long firstRetained() {
    return firstRetained;
  }

  /** Issued and not yet acknowledged by the DPU (numbers skipped at this start are none of them). */
  long unacknowledged() {
    long below = Math.max(0, Math.min(skippedFrom - 1, issuedUpTo) - acked);
    return below + Math.max(0, issuedUpTo - Math.max(acked, skippedTo));
  }

  long acked() {
    return acked;
  }

  /** Entry {@code seq} if it is in memory (not stored yet, or cached), else null (read the store). */
  Entry entry(long seq) {
    return seq > storedUpTo ? unstored.get(seq) : recent.get(seq);
  }

  Future<List<Entry>> read(long fromSeq, int limit) {
    return store.read(fromSeq, limit);
  }

  /**
   * Refuses new notifications, stores the queued ones and releases the unused part of the
   * reservation, so the next start continues right after the last number.
   */
  Future<Void> close() {
    closed = true;
    if (skip != null) {
      skip.promise().fail(new RelayConnectionException("the relay host closed"));
      skip = null;
    }
    drained = Promise.promise();
    flush();
    return drained.future();
  }

  /** The close gave up waiting for the store: what is still queued will not be stored. */
  void abandon() {
    RelayConnectionException e = new RelayConnectionException(
        "the relay host closed before this notification was stored");
    queued.forEach(q -> q.promise().fail(e));
    queued.clear();
  }

  private void flush() {
    if (writing || drained != null && drained.future().isComplete()) {
      return;
    }
    boolean extend = reserved - issuedUpTo < RESERVATION / 2;
    boolean idleAcks = acked - ackedInStore >= IDLE_ACK_BATCH;
    boolean release = closed && queued.isEmpty() && skip == null;
    if (queued.isEmpty() && skip == null && !extend && !idleAcks && !release) {
      return;
    }
    List<Queued> batch = new ArrayList<>(Math.min(batchSize, queued.size()));
    while (batch.size() < batchSize && !queued.isEmpty()) {
      batch.add(queued.poll());
    }
    List<Item> items = new ArrayList<>(batch.size());
    batch.forEach(q -> items.add(q.item()));
    Skip skipping = skip;
    skip = null;
    long lastSeq = Math.max(storedUpTo, batch.isEmpty() ? 0 : batch.get(batch.size() - 1).item().entry().seq());
    if (skipping != null) {
      lastSeq = Math.max(lastSeq, skipping.seq());
    }
    long ackTarget = Math.min(acked, lastSeq);
    long newReserve = release ? lastSeq : extend ? issuedUpTo + RESERVATION : OutboxStore.KEEP_RESERVATION;
    long last = lastSeq;
    writing = true;
    store.commit(new OutboxStore.Commit(items, lastSeq, ackTarget, newReserve, maxEntries)).onComplete(ar -> {
      writing = false;
      if (ar.failed()) {
        failed(batch, skipping, ar.cause());
        return;
      }
      committed(batch, skipping, last, ackTarget, newReserve, ar.result(), release);
    });
  }

  private void committed(List<Queued> batch, Skip skipping, long lastSeq, long ackTarget, long newReserve,
      long storedFirst, boolean released) {
    storedUpTo = lastSeq;
    ackedInStore = Math.max(ackedInStore, ackTarget);
    if (newReserve != OutboxStore.KEEP_RESERVATION) {
      reserved = newReserve;
    }
    while (!unstoredEnds.isEmpty() && unstoredEnds.peekFirst() <= lastSeq) {
      unstoredEnds.poll();
    }
    for (Queued q : batch) {
      if (q.item().entry().seq() > acked && q.item().entry().seq() >= firstRetained) {
        recent.add(q.item().entry());
      }
    }
    unstored.dropThrough(lastSeq);
    firstRetained = Math.max(firstRetained, storedFirst);
    recent.dropThrough(firstRetained - 1);
    for (Queued q : batch) {
      q.promise().complete(q.item().entry().seq());
    }
    if (skipping != null) {
      skipping.promise().complete(skipping.seq());
    }
    if (released && drained != null) {
      drained.complete();
      return;
    }
    flush();
    onSendable.run();
  }

  /**
   * A commit failed (the store logged why): its notifications go back to the head of the queue,
   * keeping their numbers (they may have been sent), and are tried again after a pause.
   */
  private void failed(List<Queued> batch, Skip skipping, Throwable cause) {
    for (int i = batch.size() - 1; i >= 0; i--) {
      queued.addFirst(batch.get(i));
    }
    if (skipping != null && skip == null) {
      skip = skipping;
    }
    if (closed) {
      queued.forEach(q -> q.promise().fail(cause));
      queued.clear();
      if (skip != null) {
        skip.promise().fail(cause);
        skip = null;
      }
      drained.fail(cause);
      return;
    }
    log.error("{}; retrying in {} ms ({} notifications wait to be stored)", cause.getMessage(), RETRY_MS,
        queued.size());
    writing = true;
    vertx.setTimer(RETRY_MS, t -> {
      writing = false;
      flush();
    });
  }
}
