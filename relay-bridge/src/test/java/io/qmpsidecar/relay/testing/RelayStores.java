package io.qmpsidecar.relay.testing;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Reads a relay store file that no host has open. */
public final class RelayStores {

  private RelayStores() {}

  /** A value of the store's {@code meta} table, such as {@code last_seq} or {@code last_acked}; 0 when absent. */
  public static long meta(Path store, String key) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + store);
        PreparedStatement s = c.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
      s.setString(1, key);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }
}
