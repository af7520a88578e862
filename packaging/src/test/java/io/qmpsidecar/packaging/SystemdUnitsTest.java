package io.qmpsidecar.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The units of contrib/systemd as the package installs them: they pass
 * {@code systemd-analyze verify} (where systemd is installed), and they agree with each other
 * and with the sidecar's command line. PackageInstallIT verifies them again where installed.
 */
class SystemdUnitsTest {
  private static final Path CONTRIB = Path.of("..", "contrib", "systemd").toAbsolutePath().normalize();
  private static final Path LAUNCHER = Path.of("..", "bin", "qmp-sidecar").toAbsolutePath().normalize();
  private static final String PER_VM = "qmp-sidecar@.service";
  private static final String HOST = "qmp-sidecar.service";
  private static final String QEMU_EXAMPLE = "qemu-vm@.service";
  private static final String HOSTPREP_SOCKET = "qmp-sidecar-hostprep.socket";
  private static final String HOSTPREP = "qmp-sidecar-hostprep@.service";
  private static final Path HELPER = Path.of("..", "contrib", "hostprep", "hostprep").toAbsolutePath().normalize();

  @Test
  void everyUnitVerifies(@TempDir Path dir) throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")), "systemd-analyze is not installed here");
    // Instances of the templates, in one directory so that they find each other, running this
    // checkout's launcher instead of /usr/bin/qmp-sidecar.
    List<String> files = new ArrayList<>();
    for (Map.Entry<String, String> unit : Map.of(PER_VM, "qmp-sidecar@vm1.service", HOST, HOST,
        QEMU_EXAMPLE, "qemu-vm@vm1.service", HOSTPREP_SOCKET, HOSTPREP_SOCKET, HOSTPREP, HOSTPREP).entrySet()) {
      String text = Files.readString(CONTRIB.resolve(unit.getKey())).replace("/usr/bin/qmp-sidecar", LAUNCHER.toString())
          .replace("/usr/libexec/qmp-sidecar/hostprep", HELPER.toString());
      files.add(Files.writeString(dir.resolve(unit.getValue()), text).toString());
    }
    // Their man pages are checked where the package installed them (PackageInstallIT).
    List<String> cmd = new ArrayList<>(List.of("systemd-analyze", "verify", "--man=no"));
    cmd.addAll(files);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(out).as("systemd-analyze verify output").isEmpty();
    assertThat(p.exitValue()).isZero();
  }

  @Test
  void bothSidecarUnitsShareTheirHardening() throws Exception {
    String perVm = Files.readString(CONTRIB.resolve(PER_VM));
    String host = Files.readString(CONTRIB.resolve(HOST));
    assertThat(hardening(host).replace("MemoryMax=1G\nTasksMax=512", "MemoryMax=512M\nTasksMax=256"))
        .as("the host unit's hardening is the per-VM unit's, with more memory and tasks for many VMs")
        .isEqualTo(hardening(perVm));
    assertThat(hardening(perVm)).contains("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n");
  }

  @Test
  void readWritePathsThatMayNotExistAreOptional() throws Exception {
    for (String name : List.of(PER_VM, HOST)) {
      assertThat(UnitFile.read(CONTRIB.resolve(name)).all("Service", "ReadWritePaths"))
          .as("%s writes only its own directories: the helper writes sysfs", name).isEmpty();
    }
    List<String> paths = UnitFile.read(CONTRIB.resolve(HOSTPREP)).all("Service", "ReadWritePaths").stream()
        .flatMap(v -> List.of(v.split("\\s+")).stream()).toList();
    assertThat(paths).containsExactly("-/sys/bus/pci", "-/sys/devices");
  }

  @Test
  void theSidecarUnitsWriteSysfsOnlyThroughTheHelperWhichReadsOtherProcessesButWritesWithNoCapability() throws Exception {
    UnitFile socket = UnitFile.read(CONTRIB.resolve(HOSTPREP_SOCKET));
    String address = socket.value("Socket", "ListenStream");
    assertThat(address).isEqualTo("/run/qmp-sidecar-hostprep.sock");
    assertThat(socket.value("Socket", "Accept")).isEqualTo("yes");
    assertThat(socket.value("Socket", "SocketGroup")).isEqualTo("qmp-sidecar");
    assertThat(socket.value("Socket", "SocketMode")).isEqualTo("0660");
    UnitFile helper = UnitFile.read(CONTRIB.resolve(HOSTPREP));
    assertThat(helper.all("Service", "User")).as("root, who owns the three files").isEmpty();
    assertThat(helper.value("Service", "CapabilityBoundingSet")).as("to read QEMU's /proc/PID/fd (release)")
        .isEqualTo("CAP_SYS_PTRACE");
    assertThat(helper.value("Service", "SystemCallFilter")).as("no ptrace(2): @debug is not in @system-service")
        .isEqualTo("~@privileged @resources");
    assertThat(helper.value("Service", "AmbientCapabilities")).isEmpty();
    assertThat(helper.value("Service", "NoNewPrivileges")).isEqualTo("yes");
    assertThat(helper.value("Service", "ProtectKernelTunables")).isEqualTo("yes");
    assertThat(helper.value("Service", "StandardInput")).isEqualTo("socket");
    assertThat(helper.value("Service", "ExecStart")).isEqualTo("/usr/libexec/qmp-sidecar/hostprep");
    for (String name : List.of(PER_VM, HOST)) {
      UnitFile unit = UnitFile.read(CONTRIB.resolve(name));
      assertThat(unit.value("Service", "ExecStart")).as(name).contains("--set host.prepHelper=" + address);
      assertThat(unit.value("Unit", "Wants")).as(name).contains(HOSTPREP_SOCKET);
      assertThat(unit.value("Unit", "After")).as(name).contains(HOSTPREP_SOCKET);
      assertThat(unit.value("Service", "ProtectKernelTunables")).as(name).isEqualTo("yes");
    }
  }

  @Test
  void eachUnitRunsInItsOwnDirectoriesAndPollsItsOwnSocket() throws Exception {
    for (Map.Entry<String, String> unit : Map.of(PER_VM, "qmp-sidecar/%i", HOST, "qmp-sidecar").entrySet()) {
      UnitFile file = UnitFile.read(CONTRIB.resolve(unit.getKey()));
      String dir = unit.getValue();
      assertThat(file.value("Service", "RuntimeDirectory")).isEqualTo(dir);
      assertThat(file.value("Service", "StateDirectory")).isEqualTo(dir);
      assertThat(file.value("Service", "ExecStart")).as(unit.getKey())
          .startsWith("/usr/bin/qmp-sidecar run --config /etc/qmp-sidecar/")
          .contains("--set api.socket=/run/" + dir + "/api.sock", "--set proxy.dir=/run/" + dir + "/proxy",
              "--set stateDir=/var/lib/" + dir);
      assertThat(file.value("Service", "ExecStartPost")).as(unit.getKey())
          .startsWith("/usr/bin/curl ").contains("--unix-socket /run/" + dir + "/api.sock http://localhost/healthz");
      assertThat(file.value("Service", "Type")).isEqualTo("exec");
      assertThat(file.value("Service", "ExecReload")).isEqualTo("/bin/kill -HUP $MAINPID");
      assertThat(file.value("Service", "User")).isEqualTo("qmp-sidecar");
    }
    assertThat(UnitFile.read(CONTRIB.resolve(HOST)).value("Service", "RuntimeDirectoryPreserve"))
        .as("stopping the host unit keeps the per-VM instances' directories below its own").isEqualTo("yes");
  }

  @Test
  void theExampleQemuUnitComesUpBeforeItsSidecarWithASocketItsGroupReaches() throws Exception {
    UnitFile qemu = UnitFile.read(CONTRIB.resolve(QEMU_EXAMPLE));
    assertThat(qemu.value("Unit", "Wants")).isEqualTo("qmp-sidecar@%i.service");
    assertThat(qemu.value("Unit", "Before")).isEqualTo("qmp-sidecar@%i.service");
    assertThat(qemu.value("Service", "ExecStart")).contains("-qmp unix:/run/qemu/%i.qmp,server=on,wait=off");
    assertThat(qemu.value("Service", "Group")).isEqualTo("kvm");
    assertThat(qemu.value("Service", "UMask")).isEqualTo("0007");
    assertThat(qemu.value("Service", "RuntimeDirectoryPreserve")).isEqualTo("yes");
    assertThat(UnitFile.read(CONTRIB.resolve(PER_VM)).value("Service", "SupplementaryGroups")).isEqualTo("kvm");
  }

  /** The unit's hardening block: from its "# Hardening" comment to [Install]. */
  private static String hardening(String unit) {
    return unit.substring(unit.indexOf("# Hardening"), unit.indexOf("[Install]"));
  }
}
