package io.qmpsidecar.relay.impl.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Tables of the relay store and the small key/value meta table. {@code ops.ended} is the seq of
 * the op.completed / op.failed that ended an operation (0: unknown, from an older store), null
 * while it has not ended.
 */
final class Schema {

  static final String LAST_SEQ = "last_seq";
  static final String LAST_ACKED = "last_acked";
  static final String EPOCH = "epoch";
  /** The highest sequence number this store allows its host to send before storing it. */
  static final String RESERVED = "reserved_seq";

  private Schema() {}

  static void create(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      s.execute("CREATE TABLE IF NOT EXISTS ops (op_id TEXT PRIMARY KEY, method TEXT NOT NULL,"
          + " params TEXT NOT NULL, outcome TEXT, created INTEGER NOT NULL, ended INTEGER)");
      s.execute("CREATE INDEX IF NOT EXISTS ops_created ON ops (created)");
      if (!hasColumn(c, "ops", "ended")) {
        // A store of an earlier version: whether its operations ended is unknown; none is resumed.
        s.execute("ALTER TABLE ops ADD COLUMN ended INTEGER");
        s.execute("UPDATE ops SET ended = 0");
      }
    }
  }

  private static boolean hasColumn(Connection c, String table, String column) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA table_info(" + table + ")")) {
      while (rs.next()) {
        if (column.equals(rs.getString("name"))) {
          return true;
        }
      }
      return false;
    }
  }

  static long get(Connection c, String key) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0L;
      }
    }
  }

  static void put(Connection c, String key, long value) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")) {
      ps.setString(1, key);
      ps.setLong(2, value);
      ps.executeUpdate();
    }
  }
}
