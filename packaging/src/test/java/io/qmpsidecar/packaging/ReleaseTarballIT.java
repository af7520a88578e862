package io.qmpsidecar.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release tarball holds the Debian package's files under {@code qmp-sidecar-VERSION/}, and
 * runs from wherever it is unpacked, as its INSTALL.md says: the command finds its jars and its
 * class-data archive relative to itself. No root needed.
 */
class ReleaseTarballIT {
  private static final Path TARGET = Path.of("target").toAbsolutePath();
  private static final Duration TIMEOUT = Duration.ofMinutes(2);

  @Test
  void itHoldsThePackagesFilesAndRunsFromAnyPrefix(@TempDir Path prefix) throws IOException {
    Path tarball = only("qmp-sidecar-*.tar.gz");
    Shell.run(List.of("tar", "-xzf", tarball.toString(), "-C", prefix.toString()), env(), prefix, TIMEOUT).ok();
    Path top;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(prefix)) {
      top = dirs.iterator().next();
    }
    assertThat(top.getFileName().toString()).isEqualTo(tarball.getFileName().toString().replace(".tar.gz", ""));
    assertThat(top.resolve("INSTALL.md")).isRegularFile();

    Set<String> inTarball = new TreeSet<>(Shell.run(List.of("find", ".", "-type", "f", "!", "-name", "INSTALL.md"), env(),
        top, TIMEOUT).ok().out().lines().map(l -> l.substring(1)).toList());
    Set<String> inPackage = new TreeSet<>(packageFiles());
    assertThat(inTarball).as("the tarball's files are the package's").isEqualTo(inPackage)
        .contains("/usr/bin/qmp-sidecar", "/usr/share/qmp-sidecar/qmp-sidecar.jar", "/etc/qmp-sidecar/host.yaml");
    assertThat(Shell.run(List.of("stat", "-c", "%a", "usr/bin/qmp-sidecar", "usr/share/qmp-sidecar/record-cds",
        "usr/libexec/qmp-sidecar/hostprep", "etc/qmp-sidecar/host.yaml"), env(), top, TIMEOUT).ok().out().lines())
        .containsExactly("755", "755", "755", "644");

    Path command = top.resolve("usr/bin/qmp-sidecar");
    assertThat(Shell.run(List.of(command.toString(), "version"), env(), prefix, TIMEOUT).ok().out())
        .startsWith("qmp-sidecar ");
    assertThat(Shell.run(List.of(command.toString(), "config", "check", "--config",
        top.resolve("etc/qmp-sidecar/host.yaml").toString()), env(), prefix, TIMEOUT).ok().out())
        .startsWith("configuration OK: 0 VMs");
    Path archive = top.resolve("var/cache/qmp-sidecar/qmp-sidecar.jsa");
    Files.createDirectories(archive.getParent());
    Shell.run(List.of(top.resolve("usr/share/qmp-sidecar/record-cds").toString(), command.toString(), archive.toString()),
        env(), prefix, TIMEOUT).ok();
    List<Path> copied;
    try (var files = Files.list(archive.resolveSibling("native"))) {
      copied = files.toList();
    }
    assertThat(copied).as("sqlite-jdbc's native library, copied beside the archive")
        .singleElement().asString().matches(".*/libsqlitejdbc-[0-9.]+\\.so");
    Path copy = copied.get(0);
    List<String> daemon = List.of(command.toString(), "run", "--exit-when-ready", "--set",
        "api.socket=" + prefix.resolve("api.sock"), "--set", "stateDir=" + prefix.resolve("state"), "--set",
        "proxy.dir=" + prefix.resolve("proxy"));
    Map<String, String> logLibraries = Map.of("PATH", Shell.PATH, "JAVA_OPTS", "-Xlog:library=info:stdout");
    assertThat(Shell.run(daemon, logLibraries, prefix, TIMEOUT).ok().out()).contains("Loaded library " + copy);
    Path otherVersion = Files.move(copy, copy.resolveSibling("libsqlitejdbc-0.0.0.so"));
    assertThat(Shell.run(daemon, logLibraries, prefix, TIMEOUT).ok().out())
        .as("another version's copy is not used: sqlite-jdbc extracts its own")
        .doesNotContain("Loaded library " + otherVersion).containsPattern("Loaded library \\S*-libsqlitejdbc\\.so");
    Files.move(otherVersion, copy);
    Map<String, String> logClassLoading = Map.of("PATH", Shell.PATH, "JAVA_OPTS", "-Xlog:class+load=info:stdout",
        "QMP_SIDECAR_LEAN", "0");
    assertThat(Shell.run(List.of(command.toString(), "run", "--help"), logClassLoading, prefix, TIMEOUT).ok().out())
        .as("the command maps the archive recorded under its prefix")
        .contains("io.qmpsidecar.sidecar.cli.RunCommand source: shared objects file (top)");
    Map<String, String> lean = Map.of("PATH", Shell.PATH, "JAVA_OPTS", "-Xlog:class+load=info:stdout");
    assertThat(Shell.run(List.of(command.toString(), "version"), lean, prefix, TIMEOUT).ok().out())
        .as("the lean path maps its own archive, recorded beside it")
        .contains("io.qmpsidecar.sidecar.cli.LeanCli source: shared objects file (top)");
  }

  /** The regular files of the package's data, as /-rooted paths. */
  private static List<String> packageFiles() throws IOException {
    List<String> files = new ArrayList<>();
    for (String line : Shell.run(List.of("dpkg-deb", "--contents", only("qmp-sidecar_*_all.deb").toString()), env(),
        TARGET, TIMEOUT).ok().out().lines().toList()) {
      if (line.startsWith("-")) {
        files.add(line.substring(line.indexOf("./") + 1));
      }
    }
    return files;
  }

  private static Map<String, String> env() {
    return Map.of("PATH", Shell.PATH);
  }

  private static Path only(String glob) throws IOException {
    List<Path> found = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(TARGET, glob)) {
      files.forEach(found::add);
    }
    assertThat(found).as("%s in %s (./mvnw package builds it)", glob, TARGET).hasSize(1);
    return found.get(0);
  }
}
