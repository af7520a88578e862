package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.HelperSysfsWriter;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.PreparedHost;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host prep with least privilege on a real VF: the package's helper
 * (contrib/hostprep/hostprep, in L1 as {@code /usr/libexec/qmp-sidecar/hostprep}) runs in L1
 * exactly as qmp-sidecar-hostprep@.service runs it, read from the unit file: as root with only
 * the unit's one capability ({@code CAP_SYS_PTRACE}, for its {@code release} question), no new
 * privileges, and /sys read-only except the unit's {@code ReadWritePaths} ({@code labtool
 * sandbox}). The sidecar's side is the production
 * {@link SysfsHostPrep} with the production {@link HelperSysfsWriter}: its requests reach L1
 * through a Unix socket this test serves (one request per connection, as the socket unit), and the
 * kernel in L1 binds and unbinds the igb VF for real. Host prep reads a mirror of L1's sysfs that
 * the test updates from L1 after each write (the functions are L1's, the sidecar runs here).
 */
@ExtendWith(VfioLabExtension.class)
class HostPrepHelperLabIT {
  private static final Path UNIT = Path.of("../contrib/systemd/qmp-sidecar-hostprep@.service");
  private static final String ALLOW = "/etc/qmp-sidecar/hostprep.allow";
  private static final String LOG = "/tmp/hostprep.log";
  /** The spare L2 slot of the release test (lab/start). */
  private static final String SLOT = "msrc";
  /** Each of host prep's writes is a round trip to L1, which runs on TCG. */
  private static final Duration WAIT = Duration.ofMinutes(2);
  private static final Pattern REQUEST = Pattern.compile("[a-z0-9:./_ -]{1,160}");

  private static VfioLab lab;
  private static Vertx vertx;
  private static String sandbox;
  private static String vf;

  @BeforeAll
  static void allowOneVf(VfioLab vfioLab) throws IOException {
    lab = vfioLab;
    vertx = Vertx.vertx();
    sandbox = unitSandbox();
    vf = lab.vfs().get(1).bdf().value();
    assertThat(driverInL1(vf)).as("VF %s starts bound to vfio-pci", vf).isEqualTo("vfio-pci");
    lab.l1().run("mkdir -p /etc/qmp-sidecar && echo '# the DPU VF of this test' > " + ALLOW + " && echo " + vf + " >> " + ALLOW
        + " && : > " + LOG);
  }

  @AfterAll
  static void rebindAndStop() {
    if (vf != null && !"vfio-pci".equals(driverInL1(vf))) {
      String dir = "/sys/bus/pci/devices/" + vf;
      lab.l1().run("echo vfio-pci > " + dir + "/driver_override; [ ! -e " + dir + "/driver ] || echo " + vf + " > "
          + dir + "/driver/unbind; echo " + vf + " > /sys/bus/pci/drivers_probe");
    }
    if (vertx != null) {
      result(vertx.close());
    }
  }

  @Test
  void theHelperHasOnlyItsOneCapabilityAndWritesOnlyThePciPartOfSysfs() {
    String status = lab.l1().run(sandbox + " sh -c 'grep -E \"^(Uid|Cap(Inh|Prm|Eff|Bnd|Amb)):\" /proc/self/status'");
    assertThat(status.lines()).hasSize(6).allMatch(line -> line.matches("Uid:\\s+0\\s+0\\s+0\\s+0\\s*")
        || line.matches("Cap(Inh|Amb):\\s+0{16}\\s*") || line.matches("Cap(Prm|Eff|Bnd):\\s+0{11}80000\\s*"));
    String mounts = lab.l1().run(sandbox + " cat /proc/self/mountinfo");
    assertThat(mountOptions(mounts, "/sys")).startsWith("ro");
    assertThat(mountOptions(mounts, "/sys/bus/pci")).startsWith("rw");
    assertThat(mountOptions(mounts, "/sys/devices")).startsWith("rw");
    String otherBus = "sh -c 'echo no-such-device > /sys/bus/platform/drivers_probe'";
    assertThat(lab.l1().exec(otherBus).output()).as("root outside the sandbox").contains("No such device");
    L1Shell.Result inside = lab.l1().exec(sandbox + " " + otherBus);
    assertThat(inside.exitCode()).isNotZero();
    assertThat(inside.output()).contains("Read-only file system");
  }

  @Test
  void hostPrepRebindsARealVfThroughTheHelperAndBack(@TempDir Path dir) throws Exception {
    SysfsTree mirror = lab.mirror(dir.resolve("mirror"));
    List<String> requests = new ArrayList<>();
    try (Bridge bridge = new Bridge(dir.resolve("hostprep.sock"), requests)) {
      SysfsWriter helper = new HelperSysfsWriter(bridge.socket, mirror.sys(), Duration.ofSeconds(60));
      SysfsHostPrep prep = new SysfsHostPrep(vertx, mirror.sys(), mirror.dev(), (file, value) -> {
        helper.write(file, value);
        follow(mirror, file);
      });
      Bdf bdf = Bdf.parse(vf);

      result(prep.restore(bdf, Optional.of("igbvf")), WAIT);
      assertThat(driverInL1(vf)).isEqualTo("igbvf");
      int group = lab.vfs().get(1).iommuGroup();
      assertThat(lab.l1().exec("[ -e /dev/vfio/" + group + " ]").exitCode()).as("/dev/vfio/%d without vfio-pci", group).isNotZero();

      HostDevice device = result(prep.inspect(bdf), WAIT);
      assertThat(device.driver()).contains("igbvf");
      PreparedHost prepared = result(prep.prepare(device, SysfsHostPrep.VFIO_PCI), WAIT);
      assertThat(prepared.rebound()).isTrue();
      assertThat(prepared.previousDriver()).contains("igbvf");
      assertThat(driverInL1(vf)).isEqualTo("vfio-pci");
      assertThat(lab.l1().run("ls /dev/vfio")).contains(Integer.toString(group));
      assertThat(lab.l1().run("cat /sys/bus/pci/devices/" + vf + "/driver_override")).isEqualTo("vfio-pci");

      String dir1 = "bus/pci/devices/" + vf;
      assertThat(requests).containsExactly(
          dir1 + "/driver_override igbvf", dir1 + "/driver/unbind " + vf, "bus/pci/drivers_probe " + vf,
          dir1 + "/driver_override ",
          dir1 + "/driver_override vfio-pci", dir1 + "/driver/unbind " + vf, "bus/pci/drivers_probe " + vf);
      assertThat(lab.l1().run("cat " + LOG)).contains("qmp-sidecar-hostprep: wrote 'vfio-pci' to /sys/" + dir1 + "/driver_override");
    }
  }

  @Test
  void aFunctionTheAllowFileDoesNotListStaysWhereItIs(@TempDir Path dir) throws Exception {
    SysfsTree mirror = lab.mirror(dir.resolve("mirror"));
    String edu = lab.function("edu").bdf().value();
    try (Bridge bridge = new Bridge(dir.resolve("hostprep.sock"), new ArrayList<>())) {
      SysfsHostPrep prep = new SysfsHostPrep(vertx, mirror.sys(), mirror.dev(),
          new HelperSysfsWriter(bridge.socket, mirror.sys(), Duration.ofSeconds(60)));
      Throwable refused = failure(prep.restore(Bdf.parse(edu), Optional.of("e1000e")));
      assertThat(refused).hasMessageContaining("answered: error: " + edu + " is not in " + ALLOW + "; list it there");
    }
    assertThat(driverInL1(edu)).isEqualTo("vfio-pci");
    assertThat(lab.l1().run("cat /sys/bus/pci/devices/" + edu + "/driver_override")).isEqualTo("vfio-pci");
  }

  /**
   * The helper's one question on a real VF: an L2 QEMU in L1, root with every capability as the
   * example QEMU unit runs it, holds the VF's group node; the helper, run as its unit runs it (its
   * own mount namespace, only CAP_SYS_PTRACE), sees that in the QEMU's /proc/PID/fd, and without
   * that capability answers an error rather than "released".
   */
  @Test
  void theHelperTellsWhetherAQemuStillHoldsARealVfsGroup() {
    assertThat(driverInL1(vf)).isEqualTo("vfio-pci");
    int group = lab.vfs().get(1).iommuGroup();
    String noCapability = sandbox.replace(" --cap sys_ptrace", "");
    assertThat(noCapability).isNotEqualTo(sandbox);
    long pid;
    try (LabL2 l2 = LabL2.start(vertx, lab, SLOT, lab.spareQemu(), null, "-device",
        "vfio-pci,host=" + vf + ",id=vf0,bus=rp1")) {
      pid = l2.pid;
      assertThat(l2.realized("vf0")).isTrue();

      assertThat(ask(sandbox, "release " + pid + " 0 vfio/" + group + " vfio/99999"))
          .matches("held \\d+ vfio/" + group);
      assertThat(ask(sandbox, "release " + pid + " 0 vfio/99999")).matches("released \\d+");
      assertThat(ask(noCapability, "release " + pid + " 0 vfio/" + group))
          .startsWith("error: may not read the descriptors of process " + pid);
    }
    assertThat(ask(sandbox, "release " + pid + " 0 vfio/" + group)).as("the QEMU is gone").matches("released \\d+");
    assertThat(lab.l1().run("cat " + LOG)).contains("qmp-sidecar-hostprep: pid " + pid + " still holds vfio/" + group);
  }

  /** The helper's answer to one request, run in L1 under {@code sandboxCommand}, without its newline. */
  private static String ask(String sandboxCommand, String request) {
    return lab.l1().exec("printf '%s\\n' '" + request + "' | " + sandboxCommand + " /usr/libexec/qmp-sidecar/hostprep 2>>"
        + LOG).output();
  }

  /** labtool sandbox with the unit's ReadWritePaths, for the sandbox the unit file asks for; fails when the unit asks for more. */
  private static String unitSandbox() throws IOException {
    List<String> lines = Files.readAllLines(UNIT);
    assertThat(lines).as("%s: what labtool sandbox plays", UNIT)
        .contains("ExecStart=/usr/libexec/qmp-sidecar/hostprep", "AmbientCapabilities=", "NoNewPrivileges=yes",
            "ProtectSystem=strict", "ProtectKernelTunables=yes")
        .noneMatch(line -> line.startsWith("User=") || line.startsWith("DynamicUser=") || line.startsWith("PrivateUsers="));
    StringBuilder command = new StringBuilder("labtool sandbox --ro /sys");
    List<String> capabilities = lines.stream().filter(line -> line.startsWith("CapabilityBoundingSet="))
        .flatMap(line -> List.of(line.substring(22).split(" ")).stream()).filter(cap -> !cap.isEmpty()).toList();
    assertThat(capabilities).as("the capabilities labtool sandbox keeps").containsExactly("CAP_SYS_PTRACE");
    capabilities.forEach(cap -> command.append(" --cap ").append(cap.substring(4).toLowerCase(Locale.ROOT)));
    lines.stream().filter(line -> line.startsWith("ReadWritePaths=")).flatMap(line -> List.of(line.substring(15).split(" ")).stream())
        .forEach(path -> command.append(" --rw ").append(path.startsWith("-") ? path.substring(1) : path));
    assertThat(command.toString()).contains("--rw /sys/bus/pci");
    return command.append(" --").toString();
  }

  private static String mountOptions(String mountinfo, String point) {
    return mountinfo.lines().map(line -> line.split(" ")).filter(f -> f[4].equals(point)).reduce((a, b) -> b)
        .map(f -> f[5]).orElseThrow(() -> new AssertionError("no mount at " + point + ":\n" + mountinfo));
  }

  private static String driverInL1(String bdf) {
    return lab.l1().run("basename \"$(readlink /sys/bus/pci/devices/" + bdf + "/driver)\" 2>/dev/null || true").strip();
  }

  /** The mirror follows L1 after a write: the function's driver link, as the kernel left it. */
  private static void follow(SysfsTree mirror, Path file) throws IOException {
    Path devices = mirror.sys().resolve("bus/pci/devices");
    String bdf = file.startsWith(devices) ? devices.relativize(file).getName(0).toString() : vf;
    String driver = driverInL1(bdf);
    if (driver.isEmpty() || driver.equals(".")) {
      mirror.unbind(bdf);
    } else {
      mirror.bind(bdf, driver);
    }
  }

  /** A Unix socket here whose every connection is one request to the helper in L1, run in its unit's sandbox. */
  private static final class Bridge implements AutoCloseable {
    final Path socket;
    private final ServerSocketChannel server;
    private final Thread thread;

    Bridge(Path socket, List<String> requests) throws IOException {
      this.socket = socket;
      server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
      server.bind(UnixDomainSocketAddress.of(socket));
      thread = new Thread(() -> {
        while (server.isOpen()) {
          try (SocketChannel connection = server.accept()) {
            String request = new BufferedReader(new InputStreamReader(Channels.newInputStream(connection),
                StandardCharsets.US_ASCII)).readLine();
            requests.add(request);
            assertThat(request).matches(REQUEST);
            L1Shell.Result answer = lab.l1().exec("printf '%s\\n' '" + request + "' | " + sandbox
                + " /usr/libexec/qmp-sidecar/hostprep 2>>" + LOG);
            Channels.newOutputStream(connection).write(answer.output().getBytes(StandardCharsets.UTF_8));
          } catch (IOException e) {
            if (server.isOpen()) {
              throw new UncheckedIOException(e);
            }
          }
        }
      }, "hostprep-bridge");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() throws Exception {
      server.close();
      thread.join(5_000);
    }
  }
}
