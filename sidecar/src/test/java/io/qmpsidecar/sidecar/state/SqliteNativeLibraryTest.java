package io.qmpsidecar.sidecar.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteJDBCLoader;

class SqliteNativeLibraryTest {
  @Test
  void writesThisPlatformsLibraryUnderItsVersionAndDropsOtherVersions(@TempDir Path dir) throws Exception {
    Path cache = dir.resolve("native");
    Files.createDirectories(cache);
    Path older = Files.writeString(cache.resolve(SqliteNativeLibrary.fileName("3.0.0.0")), "old");
    Path unrelated = Files.writeString(cache.resolve("notes.txt"), "kept");

    Path written = SqliteNativeLibrary.extract(cache);

    assertThat(written.getFileName()).hasToString("libsqlitejdbc-" + SQLiteJDBCLoader.getVersion() + ".so");
    try (InputStream jar = SQLiteJDBCLoader.class.getResourceAsStream("/org/sqlite/native/Linux/x86_64/libsqlitejdbc.so")) {
      assertThat(Files.readAllBytes(written)).isEqualTo(jar.readAllBytes());
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(written))).isEqualTo("rw-r--r--");
    assertThat(older).doesNotExist();
    assertThat(unrelated).exists();
    try (var left = Files.list(cache)) {
      assertThat(left).as("no temporary file left").containsExactlyInAnyOrder(written, unrelated);
    }
  }

  @Test
  void createsTheDirectoryAndReplacesItsOwnFile(@TempDir Path dir) throws Exception {
    Path cache = dir.resolve("a/b");
    Path first = SqliteNativeLibrary.extract(cache);
    Files.writeString(first, "truncated by a crash");

    Path second = SqliteNativeLibrary.extract(cache);

    assertThat(second).isEqualTo(first);
    assertThat(Files.size(second)).isGreaterThan(100_000);
  }

  @Test
  void theDaemonUsesTheCopyOfItsOwnVersionOnly(@TempDir Path dir) throws Exception {
    Path own = dir.resolve("own");
    Path written = SqliteNativeLibrary.extract(own);
    Path other = Files.createDirectories(dir.resolve("other"));
    Files.writeString(other.resolve(SqliteNativeLibrary.fileName("3.0.0.0")), "another version's copy");
    try {
      System.setProperty(SqliteNativeLibrary.DIR_OPTION, other.toString());
      SqliteNativeLibrary.useCopy();
      assertThat(System.getProperty("org.sqlite.lib.path")).as("no copy of this version there").isNull();

      System.setProperty(SqliteNativeLibrary.DIR_OPTION, own.toString());
      SqliteNativeLibrary.useCopy();
      assertThat(Path.of(System.getProperty("org.sqlite.lib.path"), System.getProperty("org.sqlite.lib.name")))
          .isEqualTo(written);
    } finally {
      System.clearProperty(SqliteNativeLibrary.DIR_OPTION);
      System.clearProperty("org.sqlite.lib.path");
      System.clearProperty("org.sqlite.lib.name");
    }
  }
}
