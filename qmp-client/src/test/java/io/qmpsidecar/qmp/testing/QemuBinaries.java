package io.qmpsidecar.qmp.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Which QEMUs the integration tests run against, in this order of precedence: the system
 * property {@code qemu.binaries} (comma-separated paths; Maven passes {@code -Dqemu.binaries}),
 * the environment variable {@code QMP_SIDECAR_QEMUS}, else the list scripts/setup wrote to the
 * file named by the system property {@code qemu.binaries.file} ({@code .qemu/binaries}).
 */
public final class QemuBinaries {
  private static volatile List<QemuBinary> cached;

  private QemuBinaries() {}

  public static List<QemuBinary> all() {
    List<QemuBinary> result = cached;
    if (result == null) {
      result = paths().stream().map(QemuBinary::probe).toList();
      cached = result;
    }
    return result;
  }

  private static List<Path> paths() {
    String list = System.getProperty("qemu.binaries", "");
    if (list.isBlank()) {
      list = System.getenv().getOrDefault("QMP_SIDECAR_QEMUS", "");
    }
    if (!list.isBlank()) {
      return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Path::of).toList();
    }
    String file = System.getProperty("qemu.binaries.file", ".qemu/binaries");
    Path path = Path.of(file);
    if (!Files.isRegularFile(path)) {
      throw new IllegalStateException("no QEMU list at " + path.toAbsolutePath()
          + ": run scripts/setup, or set -Dqemu.binaries=/path/to/qemu-system-x86_64[,…]");
    }
    try {
      return Files.readAllLines(path).stream().map(String::trim).filter(s -> !s.isEmpty()).map(Path::of).toList();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }
}
