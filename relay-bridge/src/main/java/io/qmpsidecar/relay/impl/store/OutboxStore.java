package io.qmpsidecar.relay.impl.store;

import io.vertx.core.Future;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The durable outbox: sequence-numbered notification messages, pruned when acked or over the cap,
 * and the reservation of numbers its host may send before they are stored.
 */
public final class OutboxStore {

  /** One stored message: its sequence number and its complete JSON-RPC text. */
  public record Entry(long seq, String text) {}

  /**
   * One message to store.
   *
   * @param endsOp the opId of the operation an op.completed / op.failed ends, else null
   */
  public record Item(Entry entry, String endsOp) {}

  /**
   * One group commit.
   *
   * @param items messages to store, in sequence order
   * @param lastSeq the last number used once this commit is stored (at least the last item's)
   * @param acked the DPU's cumulative ack to record; what it covers is dropped
   * @param reserved the new reservation (the highest number the host may send unstored), or
   *     {@link #KEEP_RESERVATION}
   * @param maxEntries most entries kept; beyond, the oldest are dropped
   */
  public record Commit(List<Item> items, long lastSeq, long acked, long reserved, long maxEntries) {}

  /** {@link Commit#reserved} that keeps the stored reservation. */
  public static final long KEEP_RESERVATION = -1;

  private final RelayDatabase db;

  public OutboxStore(RelayDatabase db) {
    this.db = db;
  }

  /**
   * Starts a new epoch, reads the counters and reserves the numbers this run may send before
   * storing them. When the last run did not release its reservation (it was killed, or the host
   * crashed), the numbers it reserved may have reached the DPU unstored: they are skipped, never
   * reused.
   */
  public Future<StoreState> load(long reservation) {
    return db.run("read the outbox counters", c -> {
      long epoch = Schema.get(c, Schema.EPOCH) + 1;
      Schema.put(c, Schema.EPOCH, epoch);
      long stored = Schema.get(c, Schema.LAST_SEQ);
      long lastSeq = Math.max(stored, Schema.get(c, Schema.RESERVED));
      Schema.put(c, Schema.LAST_SEQ, lastSeq);
      long reserved = lastSeq + reservation;
      Schema.put(c, Schema.RESERVED, reserved);
      long first = lastSeq + 1;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT min(seq) FROM outbox")) {
        if (rs.next() && rs.getObject(1) != null) {
          first = rs.getLong(1);
        }
      }
      return new StoreState(epoch, lastSeq, Schema.get(c, Schema.LAST_ACKED), first, reserved,
          lastSeq > stored ? stored + 1 : 0);
    });
  }

  /**
   * Stores one group commit in one transaction. Records the DPU's cumulative ack in it and drops
   * what it covers, so that acks cost no commit of their own. An op.completed / op.failed marks
   * its operation ended in the same transaction: after a crash, an operation is resumed exactly
   * when its end was not stored.
   *
   * @return completes with the oldest sequence number still stored afterwards
   */
  public Future<Long> commit(Commit commit) {
    return db.run("store notifications", c -> {
      if (!commit.items().isEmpty()) {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (seq, body) VALUES (?, ?)");
            PreparedStatement end = c.prepareStatement("UPDATE ops SET ended = ? WHERE op_id = ? AND ended IS NULL")) {
          for (Item item : commit.items()) {
            ps.setLong(1, item.entry().seq());
            ps.setString(2, item.entry().text());
            ps.addBatch();
            if (item.endsOp() != null) {
              end.setLong(1, item.entry().seq());
              end.setString(2, item.endsOp());
              end.addBatch();
            }
          }
          ps.executeBatch();
          end.executeBatch();
        }
      }
      Schema.put(c, Schema.LAST_SEQ, commit.lastSeq());
      Schema.put(c, Schema.LAST_ACKED, commit.acked());
      if (commit.reserved() != KEEP_RESERVATION) {
        Schema.put(c, Schema.RESERVED, commit.reserved());
      }
      long firstRetained = Math.max(Math.max(1, commit.lastSeq() - commit.maxEntries() + 1), commit.acked() + 1);
      deleteBelow(c, firstRetained);
      return firstRetained;
    });
  }

  /** Reads up to {@code limit} entries from {@code fromSeq} on, in order. */
  public Future<List<Entry>> read(long fromSeq, int limit) {
    return db.run("read notifications for replay", c -> {
      List<Entry> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT seq, body FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?")) {
        ps.setLong(1, fromSeq);
        ps.setInt(2, limit);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Entry(rs.getLong(1), rs.getString(2)));
          }
        }
      }
      return out;
    });
  }

  private static void deleteBelow(Connection c, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM outbox WHERE seq < ?")) {
      ps.setLong(1, seq);
      ps.executeUpdate();
    }
  }
}
