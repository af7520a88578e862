package io.qmpsidecar.relay.impl.store;

import io.vertx.core.Future;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * opId outcomes for idempotency: a row is written before the operation runs, its outcome (the
 * answer) after, and the seq of its end notification when that is stored (see OutboxStore).
 */
public final class OpStore {

  /**
   * A stored operation.
   *
   * @param method the request's method
   * @param params the request's params as canonical JSON text
   * @param outcome the JSON answer sent, or null when the process died while it ran
   */
  public record Op(String method, String params, String outcome) {}

  /** A stored operation that never ended. */
  public record Unfinished(String opId, Op op) {}

  private final RelayDatabase db;
  private final int maxOps;

  public OpStore(RelayDatabase db, int maxOps) {
    this.db = db;
    this.maxOps = maxOps;
  }

  public Future<Optional<Op>> find(String opId) {
    return db.run("look up an opId", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT method, params, outcome FROM ops WHERE op_id = ?")) {
        ps.setString(1, opId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new Op(rs.getString(1), rs.getString(2), rs.getString(3)))
              : Optional.<Op>empty();
        }
      }
    });
  }

  /** Records that an operation starts; keeps the newest {@code maxOps} rows. */
  public Future<Void> started(String opId, String method, String params) {
    return db.run("record a started operation", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO ops (op_id, method, params, outcome, created) VALUES (?, ?, ?, NULL,"
              + " (SELECT coalesce(max(created), 0) + 1 FROM ops))")) {
        ps.setString(1, opId);
        ps.setString(2, method);
        ps.setString(3, params);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM ops WHERE created <= (SELECT max(created) FROM ops) - ?")) {
        ps.setLong(1, maxOps);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * Operations that started and never ended, oldest first: no outcome stored (the process died
   * before the executor answered), or an acceptance stored and no op.completed / op.failed.
   */
  public Future<List<Unfinished>> unfinished() {
    return db.run("find unfinished operations", c -> {
      List<Unfinished> out = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT op_id, method, params, outcome FROM ops"
          + " WHERE ended IS NULL AND (outcome IS NULL OR outcome LIKE '{\"result\"%') ORDER BY created")) {
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Unfinished(rs.getString(1), new Op(rs.getString(2), rs.getString(3), rs.getString(4))));
          }
        }
      }
      return out;
    });
  }

  /** Stores the outcome a repeat gets, unless one is stored already. */
  public Future<Void> finishedIfNone(String opId, String outcome) {
    return db.run("record a reconciled operation's outcome", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE ops SET outcome = ? WHERE op_id = ? AND outcome IS NULL")) {
        ps.setString(1, outcome);
        ps.setString(2, opId);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * Deletes an operation the executor refused without running it (denied or throttled by the
   * policy): like a refusal of the authorizer, it is not recorded, so a repeat is decided afresh.
   */
  public Future<Void> forgotten(String opId) {
    return db.run("forget a refused operation", c -> {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM ops WHERE op_id = ?")) {
        ps.setString(1, opId);
        ps.executeUpdate();
      }
      return null;
    });
  }

  public Future<Void> finished(String opId, String outcome) {
    return db.run("record an operation's outcome", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE ops SET outcome = ? WHERE op_id = ?")) {
        ps.setString(1, outcome);
        ps.setString(2, opId);
        ps.executeUpdate();
      }
      return null;
    });
  }
}
