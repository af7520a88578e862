package io.qmpsidecar.relay.impl.store;

import io.qmpsidecar.relay.RelayStoreException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The relay's SQLite file (WAL mode, exclusive lock) and the single worker thread that does all of
 * its I/O, in submission order, never on an event loop.
 */
public final class RelayDatabase {

  /** Work that runs on the store's worker with its connection. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection connection) throws SQLException;
  }

  private final Path path;
  private final WorkerExecutor worker;
  private final Connection connection;

  private RelayDatabase(Path path, WorkerExecutor worker, Connection connection) {
    this.path = path;
    this.worker = worker;
    this.connection = connection;
  }

  /**
   * Opens (or creates) the store, checks it, takes its lock and starts a new epoch.
   *
   * @return completes with the open database; fails with {@link RelayStoreException} saying what
   *     is wrong with the file and what to do
   */
  public static Future<RelayDatabase> open(Vertx vertx, Path path, boolean syncEveryCommit) {
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("relay-store-" + path.toAbsolutePath(), 1);
    return worker.executeBlocking(() -> new RelayDatabase(path, worker, connect(path, syncEveryCommit)), true)
        .onFailure(e -> worker.close());
  }

  /** Runs work on the store's worker; failures become {@link RelayStoreException}. */
  public <T> Future<T> run(String what, Work<T> work) {
    return worker.executeBlocking(() -> {
      try {
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException e) {
        rollbackQuietly();
        throw new RelayStoreException(path, "relay store " + path + " failed to " + what + ": "
            + e.getMessage() + "; check free disk space and file permissions", e);
      }
    }, true);
  }

  public Path path() {
    return path;
  }

  /** Closes the connection (releasing the lock) after all submitted work has run. */
  public Future<Void> close() {
    return worker.<Void>executeBlocking(() -> {
      connection.close();
      return null;
    }, true).eventually(() -> worker.close());
  }

  /**
   * Rolls the failed work back and begins the next transaction, as the driver does after a
   * rollback. SQLite itself rolls the whole transaction back on some errors (a full disk, an I/O
   * error): the driver's rollback then fails and begins nothing, and without a new transaction
   * the next work's statements would each commit on their own, half a commit at a time.
   */
  private void rollbackQuietly() {
    try {
      connection.rollback();
    } catch (SQLException noTransaction) {
      try (Statement begin = connection.createStatement()) {
        begin.execute("BEGIN");
      } catch (SQLException ignored) {
        // The next work fails and says why; the original error is what this caller needs.
      }
    }
  }

  private static Connection connect(Path path, boolean syncEveryCommit) {
    Path dir = path.toAbsolutePath().getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      throw new RelayStoreException(path, "relay store directory " + dir
          + " does not exist; create it or choose another store path", null);
    }
    Connection c = null;
    try {
      c = DriverManager.getConnection("jdbc:sqlite:" + path);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA locking_mode=EXCLUSIVE");
        s.execute("PRAGMA busy_timeout=2000");
        try (ResultSet rs = s.executeQuery("PRAGMA journal_mode=WAL")) {
          if (!rs.next() || !"wal".equalsIgnoreCase(rs.getString(1))) {
            throw new SQLException("could not switch to WAL mode");
          }
        }
        s.execute("PRAGMA synchronous=" + (syncEveryCommit ? "FULL" : "NORMAL"));
        try (ResultSet rs = s.executeQuery("PRAGMA quick_check")) {
          String verdict = rs.next() ? rs.getString(1) : "no answer";
          if (!"ok".equalsIgnoreCase(verdict)) {
            throw new SQLException("integrity check failed: " + verdict);
          }
        }
      }
      c.setAutoCommit(false);
      Schema.create(c);
      c.commit();
      return c;
    } catch (SQLException e) {
      closeQuietly(c);
      throw new RelayStoreException(path, describe(path, e), e);
    }
  }

  private static String describe(Path path, SQLException e) {
    String m = String.valueOf(e.getMessage());
    if (m.contains("SQLITE_BUSY") || m.contains("locked")) {
      return "relay store " + path + " is in use by another process; stop the other sidecar or give"
          + " this one its own store path";
    }
    if (m.contains("SQLITE_NOTADB") || m.contains("SQLITE_CORRUPT") || m.contains("integrity")
        || m.contains("malformed")) {
      return "relay store " + path + " is corrupt or not a SQLite database (" + m + "); move it"
          + " aside and restart: the DPU then gets a state.snapshot instead of a replay";
    }
    return "relay store " + path + " cannot be opened (" + m + "); check the path and its permissions";
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException ignored) {
      // Reporting the open failure matters more than a failed close of a half-open file.
    }
  }
}
