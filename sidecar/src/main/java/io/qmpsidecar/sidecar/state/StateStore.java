package io.qmpsidecar.sidecar.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpsidecar.sidecar.failure.SidecarException.Kind;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.io.IOException;
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
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
  private static final Logger LOG = LoggerFactory.getLogger(StateStore.class);
  /** The store's schema ({@code PRAGMA user_version}); 0 is the same schema from before it was numbered. */
  static final int SCHEMA_VERSION = 1;

  @FunctionalInterface
  private interface Work<T> {
    T run(Connection connection) throws SQLException, JsonProcessingException;
  }

  private final Path path;
  private final WorkerExecutor worker;
  private volatile Consumer<String> writeFailed = vm -> { };
  /** The records as last written, by VM and id: read without I/O by decisions that need them at once. */
  private final Map<String, Map<String, Attachment>> mirror = new ConcurrentHashMap<>();
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
    return worker.executeBlocking(() -> {
      Connection c = connect(path);
      StateStore store = new StateStore(path, worker, c);
      store.load(c);
      return store;
    }, true).onFailure(e -> worker.close());
  }

  /** Fills the mirror with every readable record; {@link #list} quarantines the others. */
  private void load(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT vm, id, body FROM attachments")) {
      while (rs.next()) {
        try {
          mirrored(JSON.readValue(rs.getString(3), Attachment.class));
        } catch (JsonProcessingException | IllegalArgumentException | NullPointerException e) {
          LOG.debug("record {}/{} unreadable; quarantined when its VM is listed", rs.getString(1), rs.getString(2));
        }
      }
    }
    c.commit();
  }

  private void mirrored(Attachment a) {
    mirror.computeIfAbsent(a.vm(), vm -> new ConcurrentSkipListMap<>()).put(a.id(), a);
  }

  /**
   * The VM's records as last written, ordered by id, read from memory: for a decision that must
   * be made at once (the policy's facts). A write that failed left the record as it was.
   */
  public List<Attachment> recorded(String vm) {
    Map<String, Attachment> records = mirror.get(vm);
    return records == null ? List.of() : List.copyOf(records.values());
  }

  public Path path() {
    return path;
  }

  /**
   * Whom to tell, with the VM's name, when a write of one of its records failed (the record and
   * QEMU may then differ until a reconcile); set once, before the store is used.
   */
  public void onWriteFailure(Consumer<String> listener) {
    this.writeFailed = Objects.requireNonNull(listener, "listener");
  }

  /** Inserts or replaces the attachment with its VM and id. */
  public Future<Void> put(Attachment a) {
    return written(a.vm(), () -> mirrored(a), run("save attachment " + a.vm() + "/" + a.id(), c -> {
      try (PreparedStatement s = c.prepareStatement(
          "INSERT OR REPLACE INTO attachments(vm, id, body) VALUES (?, ?, ?)")) {
        s.setString(1, a.vm());
        s.setString(2, a.id());
        s.setString(3, JSON.writeValueAsString(a));
        s.executeUpdate();
      }
      return null;
    }));
  }

  /** Removes an attachment; removing one that is not stored is not an error. */
  public Future<Void> remove(String vm, String id) {
    return written(vm, () -> {
      Map<String, Attachment> records = mirror.get(vm);
      if (records != null) {
        records.remove(id);
      }
    }, run("remove attachment " + vm + "/" + id, c -> {
      try (PreparedStatement s = c.prepareStatement("DELETE FROM attachments WHERE vm = ? AND id = ?")) {
        s.setString(1, vm);
        s.setString(2, id);
        s.executeUpdate();
      }
      return null;
    }));
  }

  private Future<Void> written(String vm, Runnable mirror, Future<Void> write) {
    return write.onSuccess(v -> mirror.run()).onFailure(e -> writeFailed.accept(vm));
  }

  /**
   * The VM's attachments, ordered by id. A row that cannot be read is moved to the table
   * {@code quarantine} with the reason, logged as an error, and left out: one bad row does not
   * take the VM's other records with it.
   */
  public Future<List<Attachment>> list(String vm) {
    return run("list attachments of " + vm, c -> {
      List<Attachment> out = new ArrayList<>();
      List<String[]> bad = new ArrayList<>();
      try (PreparedStatement s = c.prepareStatement(
          "SELECT id, body FROM attachments WHERE vm = ? ORDER BY id")) {
        s.setString(1, vm);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            try {
              out.add(JSON.readValue(rs.getString(2), Attachment.class));
            } catch (JsonProcessingException | IllegalArgumentException | NullPointerException e) {
              bad.add(new String[] {rs.getString(1), rs.getString(2), String.valueOf(e.getMessage())});
            }
          }
        }
      }
      for (String[] row : bad) {
        quarantine(c, vm, row[0], row[1], row[2]);
      }
      return List.copyOf(out);
    });
  }

  private void quarantine(Connection c, String vm, String id, String body, String reason) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "INSERT INTO quarantine(vm, id, body, reason, at) VALUES (?, ?, ?, ?, datetime('now'))")) {
      s.setString(1, vm);
      s.setString(2, id);
      s.setString(3, body);
      s.setString(4, reason);
      s.executeUpdate();
    }
    try (PreparedStatement s = c.prepareStatement("DELETE FROM attachments WHERE vm = ? AND id = ?")) {
      s.setString(1, vm);
      s.setString(2, id);
      s.executeUpdate();
    }
    LOG.error("state store {}: the record of {}/{} cannot be read ({}); it was moved to the table quarantine,"
        + " and the sidecar treats the device as unknown until it is restored (sqlite3 {} 'SELECT * FROM quarantine')",
        path, vm, id, reason, path);
  }

  /** Closes the file after all submitted work has run; closing it again does nothing. */
  public Future<Void> close() {
    try {
      return worker.<Void>executeBlocking(() -> {
        if (connection != null) {
          connection.close();
        }
        return null;
      }, true).eventually(worker::close);
    } catch (RejectedExecutionException alreadyClosed) {
      return Future.succeededFuture();
    }
  }

  private <T> Future<T> run(String what, Work<T> work) {
    try {
      return submit(what, work);
    } catch (RejectedExecutionException e) {
      return Future.failedFuture(failure(path, "state store " + path + " cannot " + what
          + ": the store is closed (the sidecar is stopping); the next start reconciles the record with QEMU", e));
    }
  }

  private <T> Future<T> submit(String what, Work<T> work) {
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
    emptyFileIsLoss(path);
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
        schema(s, path);
      }
      c.setAutoCommit(false);
      return c;
    } catch (SidecarException e) {
      closeQuietly(c);
      throw e;
    } catch (SQLException e) {
      closeQuietly(c);
      throw failure(path, "state store " + path + " cannot be opened ("
          + e.getMessage() + "); check the path and its permissions, or move a corrupt file aside"
          + " (the sidecar then re-reads QEMU and reports unknown devices as drift)", e);
    }
  }

  /**
   * A store the sidecar ever opened has its header (4 KiB at least): an empty file is a store
   * whose contents were lost, not a new one, and starting on it would forget every record.
   */
  private static void emptyFileIsLoss(Path path) {
    try {
      if (Files.exists(path) && Files.size(path) == 0) {
        throw corrupt(path, "is empty (0 bytes): its records were lost (a truncated write or a file system"
            + " repair)");
      }
    } catch (IOException e) {
      throw failure(path, "state store " + path + " cannot be read (" + e.getMessage() + "); check its permissions", e);
    }
  }

  /** Creates the tables of a new store; refuses a file that is not this sidecar's store of this version. */
  private static void schema(Statement s, Path path) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
      while (rs.next()) {
        tables.add(rs.getString(1));
      }
    }
    int version;
    try (ResultSet rs = s.executeQuery("PRAGMA user_version")) {
      version = rs.next() ? rs.getInt(1) : 0;
    }
    if (version > SCHEMA_VERSION) {
      throw corrupt(path, "was written by a newer qmp-sidecar (schema " + version + "; this one reads "
          + SCHEMA_VERSION + ")");
    }
    List<String> foreign = tables.stream().filter(t -> !t.equals("attachments") && !t.equals("quarantine")).toList();
    if (!foreign.isEmpty()) {
      throw corrupt(path, "is not a qmp-sidecar state store (it has the tables " + foreign + ")");
    }
    if (tables.contains("attachments")) {
      List<String> columns = new ArrayList<>();
      try (ResultSet rs = s.executeQuery("PRAGMA table_info(attachments)")) {
        while (rs.next()) {
          columns.add(rs.getString("name"));
        }
      }
      if (!columns.equals(List.of("vm", "id", "body"))) {
        throw corrupt(path, "has an attachments table of another shape (columns " + columns
            + ", expected [vm, id, body])");
      }
    }
    s.execute("CREATE TABLE IF NOT EXISTS attachments(vm TEXT NOT NULL, id TEXT NOT NULL,"
        + " body TEXT NOT NULL, PRIMARY KEY (vm, id))");
    s.execute("CREATE TABLE IF NOT EXISTS quarantine(vm TEXT, id TEXT, body TEXT, reason TEXT, at TEXT)");
    s.execute("PRAGMA user_version = " + SCHEMA_VERSION);
  }

  private static SidecarException corrupt(Path path, String problem) {
    return SidecarException.of(Kind.FAILED, "state-store-corrupt", "state store " + path + " " + problem)
        .detail("path", path.toString())
        .fix("nothing was changed; move it aside (mv " + path + " " + path + ".broken) to start with an empty store:"
            + " the sidecar then re-reads QEMU and reports the devices it finds as drift.device-unknown")
        .build();
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
