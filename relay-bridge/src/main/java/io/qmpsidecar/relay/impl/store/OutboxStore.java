package io.qmpsidecar.relay.impl.store;

import io.qmpsidecar.relay.Notification;
import io.qmpsidecar.relay.RelayMethods;
import io.qmpsidecar.relay.impl.codec.JsonRpcCodec;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** The durable outbox: sequence-numbered notification messages, pruned when acked or over the cap. */
public final class OutboxStore {

  /** One stored message: its sequence number and its complete JSON-RPC text. */
  public record Entry(long seq, String text) {}

  /**
   * The outcome of one group commit.
   *
   * @param entries per input notification, the stored entry, or null when it was too large
   * @param firstRetained the oldest sequence number still stored after the cap was applied
   */
  public record Appended(List<Entry> entries, long firstRetained) {}

  private final RelayDatabase db;

  public OutboxStore(RelayDatabase db) {
    this.db = db;
  }

  /** Starts a new epoch and reads the counters. */
  public Future<StoreState> load() {
    return db.run("read the outbox counters", c -> {
      long epoch = Schema.get(c, Schema.EPOCH) + 1;
      Schema.put(c, Schema.EPOCH, epoch);
      long lastSeq = Schema.get(c, Schema.LAST_SEQ);
      long first = lastSeq + 1;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT min(seq) FROM outbox")) {
        if (rs.next() && rs.getObject(1) != null) {
          first = rs.getLong(1);
        }
      }
      return new StoreState(epoch, lastSeq, Schema.get(c, Schema.LAST_ACKED), first);
    });
  }

  /**
   * Stores a batch in one transaction, numbering from {@code nextSeq}; a notification whose
   * message exceeds {@code maxBytes} gets no number. Keeps at most {@code maxEntries} entries.
   * Records the DPU's cumulative ack {@code acked} in the same transaction and drops what it
   * covers, so that acks cost no commit of their own. An op.completed / op.failed marks its
   * operation ended in the same transaction: after a crash, an operation is resumed exactly when
   * its end was not stored.
   */
  public Future<Appended> append(List<Notification> batch, long nextSeq, int maxBytes, long maxEntries, long acked) {
    return db.run("store notifications", c -> {
      List<Entry> entries = new ArrayList<>(batch.size());
      long seq = nextSeq;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO outbox (seq, body) VALUES (?, ?)");
          PreparedStatement end = c.prepareStatement("UPDATE ops SET ended = ? WHERE op_id = ? AND ended IS NULL")) {
        for (Notification n : batch) {
          String text = JsonRpcCodec.sequencedNotification(n.method(), seq, n.params());
          if (text.length() > maxBytes / 3 && text.getBytes(StandardCharsets.UTF_8).length > maxBytes) {
            entries.add(null);
            continue;
          }
          ps.setLong(1, seq);
          ps.setString(2, text);
          ps.addBatch();
          if (endsAnOperation(n)) {
            end.setLong(1, seq);
            end.setString(2, String.valueOf(n.params().get("opId")));
            end.addBatch();
          }
          entries.add(new Entry(seq, text));
          seq++;
        }
        ps.executeBatch();
        end.executeBatch();
      }
      long lastSeq = seq - 1;
      Schema.put(c, Schema.LAST_SEQ, lastSeq);
      Schema.put(c, Schema.LAST_ACKED, acked);
      long firstRetained = Math.max(Math.max(1, lastSeq - maxEntries + 1), acked + 1);
      deleteBelow(c, firstRetained);
      return new Appended(entries, firstRetained);
    });
  }

  private static boolean endsAnOperation(Notification n) {
    return (RelayMethods.OP_COMPLETED.equals(n.method()) || RelayMethods.OP_FAILED.equals(n.method()))
        && n.params().get("opId") != null;
  }

  /** Records the DPU's cumulative ack and drops what it covers. */
  public Future<Void> acked(long seq) {
    return db.run("prune acked notifications", c -> {
      Schema.put(c, Schema.LAST_ACKED, seq);
      deleteBelow(c, seq + 1);
      return null;
    });
  }

  /**
   * Moves the sequence past {@code seq} (a DPU acked numbers this store never issued: it was reset)
   * and drops everything up to it.
   */
  public Future<Void> skipTo(long seq) {
    return db.run("advance the sequence", c -> {
      Schema.put(c, Schema.LAST_SEQ, Math.max(seq, Schema.get(c, Schema.LAST_SEQ)));
      deleteBelow(c, seq + 1);
      return null;
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
