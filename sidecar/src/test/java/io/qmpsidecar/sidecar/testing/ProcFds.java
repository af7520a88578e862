package io.qmpsidecar.sidecar.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What a process holds open, read from {@code /proc/PID/fd} as the tests' witness. */
public final class ProcFds {
  private ProcFds() {}

  /** The files under {@code under} that process {@code pid} holds open, one entry per descriptor. */
  public static List<String> held(long pid, Path under) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      return fds.map(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString();
        } catch (IOException e) {
          // closed between the listing and the readlink: not held any more
          return "";
        }
      }).filter(t -> t.startsWith(under.toString())).toList();
    }
  }
}
