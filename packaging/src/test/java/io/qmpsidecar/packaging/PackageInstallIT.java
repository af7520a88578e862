package io.qmpsidecar.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.qmpsidecar.packaging.DocExamples.Example;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.qmp.testing.QemuBinaries;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Installs the Debian package this build made on this machine and follows docs/operations.md,
 * "Install on a host": every console example of the section runs in order as root, in the
 * checkout, with the output the document shows; the first installs the package (before the
 * tests), the last purges it (after them). In between, the tests check what the package put
 * where, run the per-VM unit's ExecStart= (and its readiness check, ExecStartPost=) by hand as
 * the unit's user against a real QEMU, complete command lines in bash and zsh, and verify the
 * installed units and their exposure. After the purge nothing of the package is left.
 *
 * <p>It needs root, apt and a machine it may install on (a throwaway CI machine), and leaves the
 * machine as it found it, also when a step fails: it only starts when the install would add no
 * package but qmp-sidecar and no path the package owns or creates exists, it purges in
 * {@code @AfterAll} whatever happened, and it removes the qmp-sidecar user and group, which a
 * purge keeps on purpose, when it created them. Runs of this test on one machine (several
 * checkouts) take turns through a lock file.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackageInstallIT {
  private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
  private static final Path DOC = ROOT.resolve("docs/operations.md");
  private static final String SECTION = "## Install on a host";
  /** Where the runs of this test on one machine (its checkouts) take turns; a lock file stays, as lock files do. */
  private static final Path LOCK = Path.of("/run/lock/qmp-sidecar-package-it.lock");
  private static final Duration LOCK_WAIT = Duration.ofMinutes(10);
  private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(3);
  /** What the package installs or creates, and its purge removes. */
  private static final List<Path> OWNED = List.of(Path.of("/usr/bin/qmp-sidecar"), Path.of("/usr/share/qmp-sidecar"),
      Path.of("/etc/qmp-sidecar"), Path.of("/var/lib/qmp-sidecar"), Path.of("/run/qmp-sidecar"),
      Path.of("/var/cache/qmp-sidecar"), Path.of("/usr/share/doc/qmp-sidecar"),
      Path.of("/usr/lib/systemd/system/qmp-sidecar@.service"), Path.of("/usr/lib/systemd/system/qmp-sidecar.service"),
      Path.of("/usr/lib/systemd/system/qmp-sidecar-hostprep.socket"),
      Path.of("/usr/lib/systemd/system/qmp-sidecar-hostprep@.service"), Path.of("/usr/libexec/qmp-sidecar"));
  private static final String USER = "qmp-sidecar";
  private static final String INSTANCE = "packageit";

  private static FileChannel lockFile;
  private static FileLock lock;
  private static List<Example> examples;
  private static Path aptConfig;
  private static boolean installing;
  private static boolean userExisted;
  private static boolean groupExisted;
  private static List<String> packageFiles = List.of();

  @BeforeAll
  static void install() throws Exception {
    assumeTrue(Shell.bash("id -u").out().strip().equals("0"), "installing a package needs root");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/apt")) && Files.isExecutable(Path.of("/usr/bin/dpkg")),
        "installing the Debian package needs apt and dpkg");
    takeTurn();
    examples = DocExamples.of(DOC, SECTION);
    assertThat(examples.get(0).command()).as("the section's first example installs the package")
        .startsWith("apt install ./packaging/target/qmp-sidecar_");
    assertThat(examples.get(examples.size() - 1).command()).as("its last one purges it").startsWith("apt purge ");
    assertThat(absent()).as("qmp-sidecar is installed already, or its configuration is left (dpkg: %s); this test"
        + " would purge it: purge it first (apt purge qmp-sidecar)", status()).isTrue();
    assertThat(OWNED).as("paths the package owns or creates, which its purge would delete; move them away first")
        .allSatisfy(p -> assertThat(p).doesNotExist());
    Path deb = theDeb();
    List<String> added = Shell.bash("apt-get install -s " + deb).ok().out().lines()
        .filter(l -> l.startsWith("Inst ")).map(l -> l.split(" ")[1]).toList();
    assertThat(added).as("packages the install would add besides qmp-sidecar; install them first (scripts/setup"
        + " does), this test only removes what it installed").containsExactly("qmp-sidecar");
    userExisted = Shell.bash("getent passwd " + USER).exit() == 0;
    groupExisted = Shell.bash("getent group " + USER).exit() == 0;
    aptConfig = Files.createTempFile("apt", ".conf");
    // Other apt runs on this machine hold dpkg's lock for a while: wait for it.
    Files.writeString(aptConfig, "DPkg::Lock::Timeout \"300\";\n");
    installing = true;
    Example install = examples.get(0);
    Shell.Result result = runAsDocumented(install);
    assertThat(install.matches(result.lines())).as("%s printed what the document shows:%n%s", install.command(), result)
        .isTrue();
    assertThat(result.exit()).as(result.toString()).isEqualTo(install.exit());
    packageFiles = Shell.bash("dpkg -L qmp-sidecar").ok().out().lines().toList();
  }

  @AfterAll
  static void purgeAndCheckNothingIsLeft() throws Exception {
    List<String> problems = new ArrayList<>();
    try {
      if (installing) {
        Example purge = examples.get(examples.size() - 1);
        try {
          Shell.Result result = runAsDocumented(purge);
          if (!purge.matches(result.lines()) || result.exit() != purge.exit()) {
            problems.add("the documented purge did not go as shown: " + result);
          }
        } catch (AssertionError e) {
          problems.add("the documented purge failed: " + e.getMessage());
        }
        if (!absent()) {
          problems.add("dpkg still knows qmp-sidecar after the purge (" + status() + "); purging it with dpkg");
          Shell.bash("dpkg --purge qmp-sidecar");
        }
        for (Path p : OWNED) {
          if (Files.exists(p)) {
            problems.add(p + " is left after the purge");
          }
        }
        for (String file : packageFiles) {
          if (file.contains("qmp-sidecar") && Files.exists(Path.of(file))) {
            problems.add(file + " (from dpkg -L) is left after the purge");
          }
        }
        if (Shell.bash("getent passwd " + USER).exit() != 0) {
          problems.add("the purge removed the " + USER + " user; docs/operations.md says it stays");
        }
        if (!userExisted) {
          Shell.bash("userdel " + USER);
        }
        if (!groupExisted && Shell.bash("getent group " + USER).exit() == 0) {
          Shell.bash("groupdel " + USER);
        }
      }
    } finally {
      if (aptConfig != null) {
        Files.deleteIfExists(aptConfig);
      }
      if (lock != null) {
        lock.release();
        lockFile.close();
      }
    }
    assertThat(problems).as("after the purge").isEmpty();
  }

  @Test
  void theDocumentedCommandsRunAsShown() {
    assertThat(Shell.bash("command -v qmp-sidecar").out().strip()).isEqualTo("/usr/bin/qmp-sidecar");
    List<Example> middle = examples.subList(1, examples.size() - 1);
    assertThat(middle).extracting(Example::command).contains("qmp-sidecar demo",
        "qmp-sidecar config check --config /etc/qmp-sidecar/host.yaml");
    SoftAssertions softly = new SoftAssertions();
    for (Example example : middle) {
      Shell.Result result = runAsDocumented(example);
      System.out.printf("$ %s%n%s[exit %d]%n", example.command(), result.out() + result.err(), result.exit());
      softly.assertThat(example.matches(result.lines())).as("%s printed:%n%s%nexpected:%n%s", example.command(),
          String.join("\n", result.lines()), String.join("\n", example.expected())).isTrue();
      softly.assertThat(result.exit()).as("exit code of %s: %s", example.command(), result).isEqualTo(example.exit());
    }
    softly.assertAll();
  }

  @Test
  void eachFileIsWhereTheDocsSayWithItsOwnerAndMode() throws IOException {
    assertThat(packageFiles).contains("/usr/bin/qmp-sidecar", "/usr/share/qmp-sidecar/qmp-sidecar.jar",
        "/usr/share/qmp-sidecar/record-cds", "/usr/share/qmp-sidecar/jvm/small", "/usr/share/qmp-sidecar/jvm/host",
        "/usr/share/qmp-sidecar/jvm/cli",
        "/usr/lib/systemd/system/qmp-sidecar@.service", "/usr/lib/systemd/system/qmp-sidecar.service",
        "/usr/lib/systemd/system/qmp-sidecar-hostprep.socket", "/usr/lib/systemd/system/qmp-sidecar-hostprep@.service",
        "/usr/libexec/qmp-sidecar/hostprep", "/etc/qmp-sidecar/hostprep.allow",
        "/usr/lib/sysusers.d/qmp-sidecar.conf", "/usr/lib/tmpfiles.d/qmp-sidecar.conf",
        "/etc/qmp-sidecar/host.yaml", "/etc/qmp-sidecar/policies/default.yaml", "/etc/qmp-sidecar/policies/dpu.yaml",
        "/usr/share/bash-completion/completions/qmp-sidecar", "/usr/share/zsh/vendor-completions/_qmp-sidecar",
        "/usr/share/doc/qmp-sidecar/operations.md", "/usr/share/doc/qmp-sidecar/examples/qemu-vm@.service");
    // A man page per command, from the command model: every subcommand the top page lists.
    String commands = Shell.bash("qmp-sidecar --help").ok().out();
    for (String command : List.of("run", "config", "exec", "vms", "devices", "events", "migrate", "demo", "version")) {
      assertThat(commands).contains("  " + command + " ");
      assertThat(packageFiles).contains("/usr/share/man/man1/qmp-sidecar-" + command + ".1.gz");
    }
    assertThat(packageFiles).contains("/usr/share/man/man1/qmp-sidecar.1.gz",
        "/usr/share/man/man1/qmp-sidecar-config-check.1.gz", "/usr/share/man/man1/qmp-sidecar-devices-attach.1.gz");
    assertThat(Shell.bash("zcat /usr/share/man/man1/qmp-sidecar-run.1.gz").ok().out())
        .contains(".TH \"QMP\\-SIDECAR\\-RUN\" \"1\"", "\\-\\-exit\\-when\\-ready");
    assertThat(Shell.bash("dpkg-query -W -f='${Conffiles}' qmp-sidecar").ok().out())
        .contains("/etc/qmp-sidecar/host.yaml", "/etc/qmp-sidecar/policies/default.yaml",
            "/etc/qmp-sidecar/policies/dpu.yaml");
    assertThat(Shell.bash("dpkg-query -W -f='${Depends}' qmp-sidecar").ok().out())
        .contains("default-jre-headless", "openjdk-17-jre-headless", "curl");
    for (String preset : List.of("default", "dpu")) {
      assertThat(Path.of("/etc/qmp-sidecar/policies", preset + ".yaml"))
          .hasSameTextualContentAs(ROOT.resolve("policies/presets/" + preset + ".yaml"));
    }
    // systemd-sysusers and systemd-tmpfiles ran in postinst.
    assertThat(Shell.bash("getent passwd " + USER).ok().out()).matches(USER + ":x:\\d+:\\d+:[^:]*:/var/lib/qmp-sidecar:"
        + "/usr/sbin/nologin\\s*");
    assertThat(Shell.bash("stat -c '%n %a %U %G' /run/qmp-sidecar /var/lib/qmp-sidecar /var/cache/qmp-sidecar").ok()
        .out().lines()).containsExactly("/run/qmp-sidecar 750 qmp-sidecar qmp-sidecar",
        "/var/lib/qmp-sidecar 750 qmp-sidecar qmp-sidecar", "/var/cache/qmp-sidecar 755 root root");
  }

  /**
   * An edited configuration survives an upgrade (reinstalling the package over itself runs the
   * upgrade's maintainer scripts) without a question, and a removal keeps it and the state. It
   * runs last and leaves the package removed: the purge after it starts from there.
   */
  @Test
  @Order(Integer.MAX_VALUE)
  void theConfigurationAndTheStateSurviveAnUpgradeAndARemoval() throws Exception {
    Path config = Path.of("/etc/qmp-sidecar/host.yaml");
    Path state = Path.of("/var/lib/qmp-sidecar/kept-by-PackageInstallIT");
    String edited = Files.readString(config) + "# edited by PackageInstallIT\n";
    Files.writeString(config, edited);
    Files.writeString(state, "state\n");
    Shell.bash("APT_CONFIG=" + aptConfig + " apt-get install -y --reinstall " + theDeb(), ROOT, COMMAND_TIMEOUT).ok();
    assertThat(config).hasContent(edited);
    assertThat(Path.of("/var/cache/qmp-sidecar/qmp-sidecar.jsa")).as("recorded again by the upgrade's postinst").isRegularFile();
    assertThat(Shell.bash("qmp-sidecar config check --config " + config).ok().out()).startsWith("configuration OK");

    Shell.bash("APT_CONFIG=" + aptConfig + " apt-get remove -y qmp-sidecar", ROOT, COMMAND_TIMEOUT).ok();
    assertThat(Path.of("/usr/bin/qmp-sidecar")).doesNotExist();
    assertThat(Path.of("/var/cache/qmp-sidecar")).as("the archive of the removed jars").doesNotExist();
    assertThat(config).hasContent(edited);
    assertThat(state).hasContent("state\n");
    assertThat(status()).isEqualTo("deinstall ok config-files");
  }

  @Test
  void theClassDataArchiveRecordedAtInstallIsTheOneTheCommandMaps() {
    assertThat(Path.of("/var/cache/qmp-sidecar/qmp-sidecar.jsa")).isRegularFile();
    assertThat(Path.of("/var/cache/qmp-sidecar/qmp-sidecar-cli.jsa")).isRegularFile();
    assertThat(Shell.bash("stat -c '%a %U' /var/cache/qmp-sidecar/native/libsqlitejdbc-*.so").ok().out().strip())
        .as("sqlite-jdbc's native library, copied by the postinst").isEqualTo("644 root");
    Shell.Result full = Shell.bash("QMP_SIDECAR_LEAN=0 JAVA_OPTS=-Xlog:class+load=info:stdout qmp-sidecar run --help").ok();
    assertThat(full.out()).contains("io.qmpsidecar.sidecar.cli.RunCommand source: shared objects file (top)");
    Shell.Result lean = Shell.bash("JAVA_OPTS=-Xlog:class+load=info:stdout qmp-sidecar version").ok();
    assertThat(lean.out()).as("the lean path maps its own archive")
        .contains("io.qmpsidecar.sidecar.cli.LeanCli source: shared objects file (top)");
  }

  @Test
  void bashAndZshCompleteTheInstalledCommand() {
    String bash = "source /usr/share/bash-completion/completions/qmp-sidecar; COMP_WORDS=(qmp-sidecar %s); "
        + "COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _complete_qmp-sidecar; "
        + "printf '%%s\\n' \"${COMPREPLY[@]}\"";
    assertThat(Shell.bash(String.format(bash, "con", 1)).ok().out().lines()).containsExactly("config");
    assertThat(Shell.bash(String.format(bash, "config ch", 2)).ok().out().lines()).containsExactly("check");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/zsh")), "zsh is not installed here (scripts/setup installs it)");
    assertThat(zshCompletes("qmp-sidecar con")).isEqualTo("config");
    assertThat(zshCompletes("qmp-sidecar config ch")).isEqualTo("config check");
  }

  @Test
  void theInstalledHostPrepHelperRefusesEveryFunctionUntilTheAllowFileListsIt() throws IOException {
    try (var devices = Files.list(Path.of("/sys/bus/pci/devices"))) {
      Optional<String> first = devices.map(d -> d.getFileName().toString()).sorted().findFirst();
      assumeTrue(first.isPresent(), "this machine shows no PCI function");
      String bdf = first.get();
      Shell.Result probe = Shell.bash("echo 'bus/pci/drivers_probe " + bdf + "' | /usr/libexec/qmp-sidecar/hostprep");
      assertThat(probe.exit()).isEqualTo(1);
      assertThat(probe.out()).startsWith("error: " + bdf + " is not in /etc/qmp-sidecar/hostprep.allow; list it there");
    }
  }

  @Test
  void theInstalledUnitsVerifyAndHaveTheDocumentedExposure(@TempDir Path dir) throws IOException {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "systemd-analyze is not installed here");
    // Man pages (Documentation=man:...), binaries and the example QEMU unit's dependency, as installed.
    Path example = Files.copy(Path.of("/usr/share/doc/qmp-sidecar/examples/qemu-vm@.service"),
        dir.resolve("qemu-vm@vm1.service"));
    Shell.Result verify = Shell.bash("systemd-analyze verify qmp-sidecar@vm1.service qmp-sidecar.service"
        + " qmp-sidecar-hostprep.socket qmp-sidecar-hostprep@0.service " + example);
    assertThat(verify.out() + verify.err()).as("systemd-analyze verify").isEmpty();
    assertThat(verify.exit()).isZero();
    Map<String, String> documented = documentedExposure();
    assertThat(documented).containsOnlyKeys("qmp-sidecar@.service", "qmp-sidecar.service", "qmp-sidecar-hostprep@.service");
    for (Map.Entry<String, String> unit : documented.entrySet()) {
      String name = unit.getKey().replace("@.", "@vm1.");
      String out = Shell.bash("systemd-analyze security --offline=true " + name).ok().out();
      Matcher level = Pattern.compile("Overall exposure level for " + Pattern.quote(name) + ": (\\d+\\.\\d)").matcher(out);
      assertThat(level.find()).as(out).isTrue();
      System.out.printf("%s: exposure %s%n", name, level.group(1));
      assertThat(level.group(1)).as("%s's exposure, as docs/security.md records it", unit.getKey())
          .isEqualTo(unit.getValue());
    }
  }

  /** A VM that QEMU serves on {@code socket} and the sidecar learns of from {@code config} or {@code env}. */
  private record Served(String vm, Map<String, String> env, Path config) {}

  @QemuTest
  void thePerVmUnitsCommandLinesServeARealQemu(QemuBinary binary, @TempDir Path dir) throws Exception {
    Path config = Path.of("/etc/qmp-sidecar", INSTANCE + ".yaml");
    runUnit("qmp-sidecar@.service", INSTANCE, "small", binary, dir, socket -> {
      Files.writeString(config, "vms:\n  - name: " + INSTANCE + "\n    qmp: unix:" + socket + "\n");
      return new Served(INSTANCE, Map.of(), config);
    });
  }

  @Test
  void theHostUnitsCommandLinesServeAVmOfItsSocketDirectory(@TempDir Path dir) throws Exception {
    // host.yaml's vmSocketDir is /run/qemu; the environment wins over the file and points at the test's.
    runUnit("qmp-sidecar.service", "", "host", QemuBinaries.all().get(0), dir,
        socket -> new Served("vm", Map.of("QMP_SIDECAR_VM_SOCKET_DIR", socket.getParent().toString()), null));
  }

  /**
   * A unit's ExecStart= run as systemd would run it, as far as that goes without systemd: its
   * User=, Group=, SupplementaryGroups=, NoNewPrivileges=, empty capability sets, UMask= and
   * Environment=, in the RuntimeDirectory= and StateDirectory= it declares; then its
   * ExecStartPost= (readiness) the same way, and a stop by its KillSignal=. QEMU's socket is set
   * up as the example QEMU unit makes it: group kvm, mode rw-rw----, in a directory group kvm
   * may enter.
   */
  private static void runUnit(String name, String instance, String profile, QemuBinary binary, Path dir,
      SocketSetup setup) throws Exception {
    UnitFile unit = UnitFile.read(Path.of("/usr/lib/systemd/system", name));
    Map<String, String> env = new LinkedHashMap<>(Map.of("PATH", Shell.PATH, "LANG", "C.UTF-8"));
    for (String assignments : unit.all("Service", "Environment")) {
      for (String assignment : assignments.split("\\s+")) {
        env.put(assignment.substring(0, assignment.indexOf('=')), assignment.substring(assignment.indexOf('=') + 1));
      }
    }
    List<String> sandbox = sandbox(unit);
    Path runtime = Path.of("/run", unit.value("Service", "RuntimeDirectory").replace("%i", instance));
    Path state = Path.of("/var/lib", unit.value("Service", "StateDirectory").replace("%i", instance));
    Map<Path, Boolean> existed = Map.of(runtime, Files.exists(runtime), state, Files.exists(state));
    Served served = null;
    Process sidecar = null;
    try (QemuProcess qemu = QemuProcess.startQtest(binary, dir, "vm", 1)) {
      Path socket = qemu.qmpAddress().unixPath();
      Shell.bash("chgrp kvm " + dir + " " + socket + " && chmod 750 " + dir + " && chmod 660 " + socket).ok();
      served = setup.serve(socket);
      env.putAll(served.env());
      for (Map.Entry<Path, String> d : Map.of(runtime, "RuntimeDirectoryMode", state, "StateDirectoryMode").entrySet()) {
        Shell.bash("mkdir -p " + d.getKey() + " && chown " + unit.value("Service", "User") + ":"
            + unit.value("Service", "Group") + " " + d.getKey() + " && chmod " + unit.value("Service", d.getValue())
            + " " + d.getKey()).ok();
      }
      List<String> start = new ArrayList<>(sandbox);
      start.addAll(UnitFile.command(unit.value("Service", "ExecStart"), instance));
      Path log = dir.resolve("sidecar.log");
      ProcessBuilder pb = new ProcessBuilder(start).redirectErrorStream(true).redirectOutput(log.toFile());
      pb.environment().clear();
      pb.environment().putAll(env);
      long t0 = System.nanoTime();
      sidecar = pb.start();
      List<String> ready = new ArrayList<>(sandbox);
      ready.addAll(UnitFile.command(unit.value("Service", "ExecStartPost"), instance));
      Shell.Result started = Shell.run(ready, env, Path.of("/"),
          Duration.ofSeconds(Long.parseLong(unit.value("Service", "TimeoutStartSec"))));
      assertThat(started.exit()).as("ExecStartPost: %s%nsidecar log:%n%s", started, Files.readString(log)).isZero();
      System.out.printf("%s on %s: ExecStartPost= saw the API answer %d ms after ExecStart=%n", name, binary,
          (System.nanoTime() - t0) / 1_000_000);

      Path api = runtime.resolve("api.sock");
      Await.until("the VM is ready", () -> Shell.bash("curl -sf --unix-socket " + api + " http://localhost/readyz").exit() == 0);
      assertThat(Shell.bash("qmp-sidecar vms --api unix:" + api).ok().out()).containsPattern(
          "(?m)^" + served.vm() + "\\s+unix:" + Pattern.quote(socket.toString()) + "\\s+ready\\s+" + binary.version());
      // It runs as the unit says: its user and groups, no capabilities, no new privileges, the
      // launcher's JVM profile and the archive recorded at install.
      String status = Files.readString(Path.of("/proc", Long.toString(sidecar.pid()), "status"));
      String uid = Shell.bash("id -u " + USER).ok().out().strip();
      String kvm = Shell.bash("getent group kvm | cut -d: -f3").ok().out().strip();
      assertThat(status).containsPattern("(?m)^Uid:\\s+" + uid + "\\s+" + uid + "\\s+" + uid)
          .containsPattern("(?m)^Groups:.*\\b" + kvm + "\\b").containsPattern("(?m)^CapEff:\\s+0+$")
          .containsPattern("(?m)^CapBnd:\\s+0+$").containsPattern("(?m)^NoNewPrivs:\\s+1$");
      assertThat(Files.readString(Path.of("/proc", Long.toString(sidecar.pid()), "cmdline")).split("\0"))
          .contains("@/usr/share/qmp-sidecar/jvm/" + profile, "-XX:SharedArchiveFile=/var/cache/qmp-sidecar/qmp-sidecar.jsa");
      assertThat(Files.readString(Path.of("/proc", Long.toString(sidecar.pid()), "maps")))
          .as("sqlite-jdbc's native library as the postinst copied it, not a copy in the temp directory")
          .contains("/var/cache/qmp-sidecar/native/libsqlitejdbc-").doesNotContain("-libsqlitejdbc.so");
      assertThat(Shell.bash("stat -c '%a %U %G' " + api).ok().out().strip()).isEqualTo("660 qmp-sidecar qmp-sidecar");
      assertThat(Shell.bash("find " + state + " -type f ! -user " + USER).ok().out())
          .as("files in the state directory not owned by " + USER).isEmpty();
      assertThat(Shell.bash("find " + state + " -type f").ok().out()).as("the state directory's stores").isNotBlank();
      assertThat(Files.readAllLines(log)).as("the log is JSON lines (Environment=QMP_SIDECAR_LOG_FORMAT=json)")
          .isNotEmpty().allSatisfy(line -> assertThat(line).startsWith("{").endsWith("}"));

      assertThat(unit.value("Service", "KillSignal")).isEqualTo("SIGTERM");
      sidecar.destroy();
      long stopWithin = Long.parseLong(unit.value("Service", "TimeoutStopSec"));
      assertThat(sidecar.waitFor(stopWithin, TimeUnit.SECONDS)).as("stops on SIGTERM within TimeoutStopSec").isTrue();
      Set<String> clean = new TreeSet<>(List.of("0"));
      clean.addAll(unit.all("Service", "SuccessExitStatus"));
      assertThat(clean).as("a clean exit for systemd (0 or SuccessExitStatus=)")
          .contains(Integer.toString(sidecar.exitValue()));
    } finally {
      if (sidecar != null && sidecar.isAlive()) {
        sidecar.destroyForcibly();
        sidecar.waitFor(10, TimeUnit.SECONDS);
      }
      if (served != null && served.config() != null) {
        Files.deleteIfExists(served.config());
      }
      // What systemd would remove (RuntimeDirectory=) or keep for the next start: the next test
      // starts from the directories as they were.
      existed.forEach((d, was) -> Shell.bash(was ? "find " + d + " -mindepth 1 -delete" : "rm -rf " + d));
    }
  }

  /** Makes QEMU's socket known to the sidecar. */
  @FunctionalInterface
  private interface SocketSetup {
    Served serve(Path socket) throws IOException;
  }

  /** setpriv and sh, applying the unit's user, groups, privileges and umask before its command. */
  private static List<String> sandbox(UnitFile unit) {
    assertThat(unit.value("Service", "NoNewPrivileges")).isEqualTo("yes");
    assertThat(unit.value("Service", "CapabilityBoundingSet")).isEmpty();
    assertThat(unit.value("Service", "AmbientCapabilities")).isEmpty();
    return List.of("setpriv", "--reuid=" + unit.value("Service", "User"), "--regid=" + unit.value("Service", "Group"),
        "--groups=" + unit.value("Service", "SupplementaryGroups").replace(' ', ','), "--no-new-privs",
        "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all", "--",
        "sh", "-c", "umask " + unit.value("Service", "UMask") + " && exec \"$@\"", "sh");
  }

  /** What zsh makes of {@code line} after a TAB, typed into an interactive zsh without startup files. */
  private static String zshCompletes(String line) {
    String script = String.join("\n",
        "zmodload zsh/zpty",
        "zpty z 'zsh -f -i'",
        // The function stands in for the command: it prints the completed words once Enter runs it.
        "zpty -w z 'PS1=\"%% \"; autoload -U compinit; compinit -u -D; qmp-sidecar() { print -r -- \"RES\"\"ULT<$*>\" }'",
        "zpty -w -n z $'" + line + "\\t'",
        "zpty -w -n z $'\\n'",
        "zpty -r z out '*RESULT<*>*'",
        "out=${out//$'\\r'/}",
        "print -r -- \"${${out##*RESULT<}%%>*}\"",
        "zpty -d z");
    return Shell.run(List.of("zsh", "-f", "-c", script), Map.of("PATH", Shell.PATH, "HOME", "/root", "TERM", "dumb"),
        Path.of("/"), Duration.ofSeconds(60)).ok().out().strip();
  }

  /** dpkg's status of the package: empty when dpkg never heard of it. */
  private static String status() {
    return Shell.bash("dpkg-query -W -f='${Status}' qmp-sidecar").out().strip();
  }

  /** Neither installed nor its configuration files left. */
  private static boolean absent() {
    String status = status();
    return status.isEmpty() || status.endsWith(" not-installed");
  }

  /** The exposure levels docs/security.md records: rows "| `UNIT` | LEVEL |" of its table. */
  private static Map<String, String> documentedExposure() throws IOException {
    Map<String, String> levels = new LinkedHashMap<>();
    Matcher row = Pattern.compile("(?m)^\\| `(qmp-sidecar(?:-hostprep)?@?\\.service)` \\| (\\d+\\.\\d) \\|")
        .matcher(Files.readString(ROOT.resolve("docs/security.md")));
    while (row.find()) {
      levels.put(row.group(1), row.group(2));
    }
    return levels;
  }

  /** One documented command, run as root by bash in the checkout with the services' PATH and no other setting. */
  private static Shell.Result runAsDocumented(Example example) {
    return Shell.run(List.of("bash", "-c", example.command()), Map.of("PATH", Shell.PATH, "HOME", "/root",
        "LANG", "C.UTF-8", "APT_CONFIG", aptConfig.toString()), ROOT, COMMAND_TIMEOUT);
  }

  private static Path theDeb() throws IOException {
    List<Path> debs = new ArrayList<>();
    try (DirectoryStream<Path> found = Files.newDirectoryStream(ROOT.resolve("packaging/target"), "qmp-sidecar_*_all.deb")) {
      found.forEach(debs::add);
    }
    assertThat(debs).as("the package ./mvnw package builds in packaging/target").hasSize(1);
    return debs.get(0);
  }

  /** Waits for other runs of this test on this machine (other checkouts) to finish. */
  private static void takeTurn() throws IOException, InterruptedException {
    lockFile = FileChannel.open(LOCK, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
    while ((lock = lockFile.tryLock()) == null) {
      if (System.nanoTime() > deadline) {
        lockFile.close();
        throw new AssertionError("another PackageInstallIT held " + LOCK + " for " + LOCK_WAIT + "; is one stuck?");
      }
      Thread.sleep(1000);
    }
  }
}
