package io.qmpsidecar.sidecar.hostprep;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

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
}
