package io.qmpsidecar.sidecar.cli;

import io.qmpsidecar.sidecar.demo.DemoStory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code qmp-sidecar demo}: the whole sidecar on one machine with nothing to configure: two
 * throwaway QEMUs in qtest mode, a DPU agent, and the story of a function attached, migrated and
 * detached.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the sidecar between two throwaway QEMUs and a local DPU agent, and show what happens.")
final class DemoCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--qemu", paramLabel = "PATH",
      description = "qemu-system-x86_64 to run (default: the first in .qemu/binaries that scripts/setup wrote, else /usr/bin/qemu-system-x86_64)")
  Path qemu;

  @Option(names = "--keep", description = "Keep the working directory (QEMU logs, state, sockets) and print where it is.")
  boolean keep;

  @Override
  public Integer call() throws Exception {
    Path binary = qemu != null ? qemu : defaultQemu();
    if (binary == null || !Files.isExecutable(binary)) {
      spec.commandLine().getErr().println("qmp-sidecar demo: no QEMU found" + (binary == null ? "" : " at " + binary)
          + "; run scripts/setup (it installs QEMU 7.2 and 10.0) or pass --qemu PATH");
      return ExitCodes.UNREACHABLE;
    }
    Path dir = Files.createTempDirectory("qmp-sidecar-demo");
    try {
      new DemoStory(spec.commandLine().getOut(), binary, dir).run();
      return ExitCodes.OK;
    } catch (Exception e) {
      spec.commandLine().getErr().println("qmp-sidecar demo: " + e.getMessage() + "; QEMU logs and state are in " + dir);
      keep = true;
      return ExitCodes.INVALID;
    } finally {
      if (keep) {
        spec.commandLine().getOut().println("demo: working directory kept: " + dir);
      } else {
        delete(dir);
      }
    }
  }

  /** The first QEMU scripts/setup listed, looked up from the working directory and from the jar's checkout. */
  private static Path defaultQemu() throws IOException {
    List<Path> candidates = new java.util.ArrayList<>(List.of(Path.of(".qemu/binaries")));
    Path jar = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().getPath());
    for (Path p = jar.getParent(); p != null; p = p.getParent()) {
      candidates.add(p.resolve(".qemu/binaries"));
    }
    for (Path list : candidates) {
      if (Files.isRegularFile(list)) {
        for (String line : Files.readAllLines(list)) {
          if (!line.isBlank() && Files.isExecutable(Path.of(line.strip()))) {
            return Path.of(line.strip());
          }
        }
      }
    }
    Path system = Path.of("/usr/bin/qemu-system-x86_64");
    return Files.isExecutable(system) ? system : null;
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
