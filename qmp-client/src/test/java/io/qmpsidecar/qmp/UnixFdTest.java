package io.qmpsidecar.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixFdTest {
  @TempDir Path dir;

  private static Path target(UnixFd fd) throws IOException {
    return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd.intValue()));
  }

  @Test
  void opensTheFileInThisProcessAndCloseReleasesIt() throws IOException {
    Path file = Files.writeString(dir.resolve("f"), "x");
    UnixFd fd = UnixFd.openReadWrite(file);
    int number = fd.intValue();
    assertThat(target(fd)).isEqualTo(file);
    fd.close();
    fd.close();
    assertThat(fd.isOpen()).isFalse();
    assertThat(Files.exists(Path.of("/proc/self/fd/" + number))
        && Files.readSymbolicLink(Path.of("/proc/self/fd/" + number)).equals(file)).isFalse();
    assertThatThrownBy(fd::intValue).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }

  @Test
  void aFileThatCannotBeOpenedIsNamedWithTheSystemsReason() {
    Path missing = dir.resolve("no-such-device");
    assertThatThrownBy(() -> UnixFd.openReadWrite(missing)).isInstanceOf(IOException.class)
        .hasMessageContaining(missing.toString()).hasMessageContaining("No such file or directory");
  }

  @Test
  void readOnlyCannotOpenADirectoryForWritingButReadsIt() throws IOException {
    assertThatThrownBy(() -> UnixFd.openReadWrite(dir)).isInstanceOf(IOException.class)
        .hasMessageContaining("Is a directory");
    try (UnixFd fd = UnixFd.openReadOnly(dir)) {
      assertThat(target(fd)).isEqualTo(dir);
    }
  }
}
