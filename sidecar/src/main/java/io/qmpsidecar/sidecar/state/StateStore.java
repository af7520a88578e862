package io.qmpsidecar.sidecar.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The sidecar's durable state: the attachments it made, per VM. A SQLite file of its own
 * ({@code <stateDir>/sidecar.db}; the relay holds an exclusive lock on its own file) in WAL mode,
 * with one worker thread doing all of its I/O in submission order, never on an event loop.
 * Every future fails with {@link SidecarException} {@link Kind#FAILED} ({@code state-store})
 * saying what went wrong and what to do.
 */
public final class StateStore {
  /** The file name inside the state directory. */
  public static final String FILE_NAME = "sidecar.db";

  private static final ObjectMapper JSON = new ObjectMapper();

  @FunctionalInterface
  private interface Work<T> {
    T run(Connection connection) throws SQLException, JsonProcessingException;
  }

  private final Path path;
  private final WorkerExecutor worker;
  /** Only the store's single worker thread touches it; null after a failure until the next use. */
  private Connection connection;

  private StateStore(Path path, WorkerExecutor worker, Connection connection) {
    this.path = path;
    this.worker = worker;
    this.connection = connection;
  }

  /** Opens (or creates) the store at {@code path}. */
  public static Future<StateStore> open(Vertx vertx, Path path) {
    WorkerExecutor worker = vertx.createSharedWorkerExecutor("sidecar-state-" + path.toAbsolutePath(), 1);
    return worker.executeBlocking(() -> new StateStore(path, worker, connect(path)), true)
        .onFailure(e -> worker.close());
  }

  public Path path() {
    return path;
  }

  /** Inserts or replaces the attachment with its VM and id. */
  public Future<Void> put(Attachment a) {
    return run("save attachment " + a.vm() + "/" + a.id(), c -> {
      try (PreparedStatement s = c.prepareStatement(
          "INSERT OR REPLACE INTO attachments(vm, id, body) VALUES (?, ?, ?)")) {
        s.setString(1, a.vm());
        s.setString(2, a.id());
        s.setString(3, JSON.writeValueAsString(a));
        s.executeUpdate();
      }
      return null;
    });
  }

  /** Removes an attachment; removing one that is not stored is not an error. */
  public Future<Void> remove(String vm, String id) {
    return run("remove attachment " + vm + "/" + id, c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM attachments WHERE vm = ? AND id = ?")) {
        s.setString(1, vm);
        s.setString(2, id);
        s.executeUpdate();
      }
      return null;
    });
  }

  /** The VM's attachments, ordered by id. */
  public Future<List<Attachment>> list(String vm) {
    return run("list attachments of " + vm, c -> {
      List<Attachment> out = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement(
          "SELECT body FROM attachments WHERE vm = ? ORDER BY id")) {
        s.setString(1, vm);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            out.add(JSON.readValue(rs.getString(1), Attachment.class));
          }
        }
      }
      return List.copyOf(out);
    });
  }

  /** Closes the file after all submitted work has run. */
  public Future<Void> close() {
    return worker.<Void>executeBlocking(() -> {
      if (connection != null) {
        connection.close();
      }
      return null;
    }, true).eventually(worker::close);
  }

  private <T> Future<T> run(String what, Work<T> work) {
    return worker.executeBlocking(() -> {
      try {
        if (connection == null) {
          connection = connect(path);
        }
        T result = work.run(connection);
        connection.commit();
        return result;
      } catch (SQLException | JsonProcessingException e) {
        // SQLite may have rolled the transaction back itself (e.g. SQLITE_FULL), leaving the
        // driver's connection outside any transaction for good: start afresh on the next use,
        // so that the store works again once the disk has room.
        closeQuietly(connection);
        connection = null;
        throw failure(path, "state store " + path + " failed to " + what + ": "
            + e.getMessage() + "; check free disk space and file permissions", e);
      }
    }, true);
  }

  private static Connection connect(Path path) {
    Path dir = path.toAbsolutePath().getParent();
    if (dir != null && !Files.isDirectory(dir)) {
      throw failure(path, "state directory " + dir
          + " does not exist; create it or set stateDir to an existing directory", null);
    }
    Connection c = null;
    try {
      c = DriverManager.getConnection("jdbc:sqlite:" + path);
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout=2000");
        try (ResultSet rs = s.executeQuery("PRAGMA journal_mode=WAL")) {
          if (!rs.next() || !"wal".equalsIgnoreCase(rs.getString(1))) {
            throw new SQLException("could not switch to WAL mode");
          }
        }
        s.execute("PRAGMA synchronous=FULL");
        s.execute("CREATE TABLE IF NOT EXISTS attachments(vm TEXT NOT NULL, id TEXT NOT NULL,"
            + " body TEXT NOT NULL, PRIMARY KEY (vm, id))");
      }
      c.setAutoCommit(false);
      return c;
    } catch (SQLException e) {
      closeQuietly(c);
      throw failure(path, "state store " + path + " cannot be opened ("
          + e.getMessage() + "); check the path and its permissions, or move a corrupt file aside"
          + " (the sidecar then re-reads QEMU and reports unknown devices as drift)", e);
    }
  }

  private static SidecarException failure(Path path, String message, Throwable cause) {
    return SidecarException.of(Kind.FAILED, "state-store", message).cause(cause).detail("path", path.toString()).build();
  }

  private static void closeQuietly(Connection c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException ignored) {
      // Reporting why the file cannot be opened matters more than a failed close.
    }
  }
}
