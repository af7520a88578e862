package io.qmpsidecar.qmp.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One {@code qemu-system-x86_64} the tests run against. A binary unpacked under
 * {@code ROOT/usr/bin} (as scripts/setup does for QEMU 10.0) gets its own firmware
 * ({@code -L ROOT/usr/share/qemu}) and modules ({@code QEMU_MODULE_DIR}). QEMU 11.1's wrapper
 * ({@code .qemu/11.1/qemu-system-x86_64}) sets both itself and {@code exec}s QEMU through its
 * root's loader, so the process started here is QEMU.
 */
public record QemuBinary(Path path, String version) {
  private static final Pattern VERSION = Pattern.compile("version (\\d+\\.\\d+\\.\\d+)");

  /** Runs {@code --version} to learn the version. */
  public static QemuBinary probe(Path path) {
    if (!Files.isExecutable(path)) {
      throw new IllegalStateException("QEMU binary " + path + " is missing or not executable; run scripts/setup");
    }
    try {
      Process p = new ProcessBuilder(path.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(path + " --version did not finish in 10 s");
      }
      Matcher m = VERSION.matcher(out);
      if (!m.find()) {
        throw new IllegalStateException(path + " --version printed no version: " + out);
      }
      return new QemuBinary(path, m.group(1));
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + path + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while probing " + path, e);
    }
  }

  public int major() {
    return Integer.parseInt(version.split("\\.")[0]);
  }

  /** The unpacked root when this QEMU is not the system's, else null. */
  private Path privateRoot() {
    Path root = path.toAbsolutePath().getParent().getParent().getParent();
    return root != null && Files.isDirectory(root.resolve("usr/share/qemu")) && root.getNameCount() > 0
        ? root : null;
  }

  /** The command line start: the binary and, for a private root, its firmware directory. */
  public List<String> command() {
    List<String> cmd = new ArrayList<>(List.of(path.toString()));
    Path root = privateRoot();
    if (root != null) {
      cmd.addAll(List.of("-L", root.resolve("usr/share/qemu").toString()));
    }
    return cmd;
  }

  public Map<String, String> environment() {
    Path root = privateRoot();
    return root == null ? Map.of()
        : Map.of("QEMU_MODULE_DIR", root.resolve("usr/lib/x86_64-linux-gnu/qemu").toString());
  }

  @Override
  public String toString() {
    return "QEMU " + version;
  }
}
