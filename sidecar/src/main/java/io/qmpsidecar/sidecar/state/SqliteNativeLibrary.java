package io.qmpsidecar.sidecar.state;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

/**
 * Copies sqlite-jdbc's native library for this platform into a directory once, at build and
 * install time ({@code record-cds}), as {@code libsqlitejdbc-VERSION.so}. The launcher names that
 * directory to the daemon ({@code -Dqmpsidecar.sqliteNativeDir}), which loads the copy when its
 * version is that of the sqlite-jdbc it runs ({@link #useCopy()}); without it, every start copies
 * the library (1 MiB) from the jar into the temp directory, which costs start-up time and leaves
 * the copy behind when the process is killed (bench/README.md, footprint).
 */
public final class SqliteNativeLibrary {
  /** The JVM option naming the directory of the copies. */
  static final String DIR_OPTION = "qmpsidecar.sqliteNativeDir";

  private SqliteNativeLibrary() {}

  /**
   * Points sqlite-jdbc at the copy for its own version in the directory {@code
   * -Dqmpsidecar.sqliteNativeDir} names, when the copy is there and sqlite-jdbc was not pointed
   * elsewhere ({@code -Dorg.sqlite.lib.path}); else sqlite-jdbc copies the library into the temp
   * directory, as it does by default. Takes effect only before the first SQLite connection.
   */
  public static void useCopy() {
    String dir = System.getProperty(DIR_OPTION);
    if (dir == null || System.getProperty("org.sqlite.lib.path") != null) {
      return;
    }
    String name = fileName(SQLiteJDBCLoader.getVersion());
    if (Files.isRegularFile(Path.of(dir, name))) {
      System.setProperty("org.sqlite.lib.path", dir);
      System.setProperty("org.sqlite.lib.name", name);
    }
  }

  /** {@code SqliteNativeLibrary DIR}: exits 0 with the file written, 1 naming what failed, 2 on bad usage. */
  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: SqliteNativeLibrary DIR");
      System.exit(2);
    }
    try {
      System.out.println(extract(Path.of(args[0])));
    } catch (IOException e) {
      System.err.println("cannot copy sqlite-jdbc's native library into " + args[0] + ": " + e
          + "; the sidecar still runs, copying it into the temp directory at each start");
      System.exit(1);
    }
  }

  /**
   * Writes this platform's library into {@code dir} (created if missing) as
   * {@code libsqlitejdbc-VERSION.so}, readable by all, replacing it atomically, and removes the
   * files of other versions there. Returns the file.
   */
  static Path extract(Path dir) throws IOException {
    String resource = LibraryLoaderUtil.getNativeLibResourcePath() + "/" + LibraryLoaderUtil.getNativeLibName();
    String version = SQLiteJDBCLoader.getVersion();
    Path target = dir.resolve(fileName(version));
    try (InputStream in = SQLiteJDBCLoader.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("sqlite-jdbc " + version + " has no native library for this platform (" + resource + ")");
      }
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, ".libsqlitejdbc", ".tmp");
      try {
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
    }
    try (DirectoryStream<Path> others = Files.newDirectoryStream(dir, fileName("*"))) {
      for (Path other : others) {
        if (!other.equals(target)) {
          Files.deleteIfExists(other);
        }
      }
    }
    return target;
  }

  /** The file's name for a version of sqlite-jdbc, as the launcher looks for it. */
  static String fileName(String version) {
    return "libsqlitejdbc-" + version + ".so";
  }
}
