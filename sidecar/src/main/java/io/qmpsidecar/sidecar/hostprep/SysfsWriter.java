package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * Writes one sysfs attribute. The kernel acts on each write (bind, unbind, probe); tests supply
 * a writer that records the writes and plays the kernel's part on a generated tree.
 */
@FunctionalInterface
public interface SysfsWriter {
  /** Writes to existing attributes only, as sysfs has no file creation. */
  SysfsWriter DIRECT = (file, value) ->
      Files.writeString(file, value, StandardCharsets.US_ASCII, StandardOpenOption.WRITE);

  void write(Path file, String value) throws IOException;

  /**
   * Who answers whether a process still holds VFIO device nodes under {@code devRoot} when the
   * sidecar may not read the process's descriptors itself: the privileged helper behind this
   * writer, if there is one.
   */
  default Optional<HelperReleaseCheck> releaseCheck(Path devRoot) {
    return Optional.empty();
  }

  /** What an operator does when a write fails. */
  default String fix() {
    return "root may write these files: run host prep through the privileged helper"
        + " (host.prepHelper, docs/security.md \"Host prep: the privileged helper\"), and check dmesg";
  }
}
