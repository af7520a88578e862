package io.qmpsidecar.sidecar.hostprep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The privileged host-prep helper (contrib/hostprep/hostprep, run by /bin/sh as its unit runs it)
 * and the sidecar's client of it, {@link HelperSysfsWriter}, over a Unix socket that socat serves
 * one helper per connection, as the socket unit does ({@link HelperServer}). The sysfs here is a
 * generated tree, so nothing plays the kernel: these tests hold what the helper writes and what it
 * refuses. For its one question ({@code release}), the test's own JVM is the process that holds
 * the tree's device nodes.
 * {@code HostPrepHelperLabIT} runs it on real functions under its unit's sandbox.
 */
class HostPrepHelperTest {
  private static final Path HELPER = HelperServer.HELPER;
  private static final String VF = "0000:03:10.0";
  private static final String OTHER_VF = "0000:03:10.2";
  private static final String NIC = "0000:02:00.0";

  @TempDir Path dir;
  private SysfsTree tree;
  private Path allow;
  private Path socket;
  private HelperServer server;

  @BeforeEach
  void tree() throws IOException {
    tree = new SysfsTree(dir);
    tree.device(VF, "8086", "10ca", 11, "igbvf");
    tree.device(OTHER_VF, "8086", "10ca", 12, "vfio-pci");
    tree.device(NIC, "8086", "10d3", 8, "e1000e");
    allow = dir.resolve("hostprep.allow");
    Files.writeString(allow, "# the DPU's functions\n" + VF + "\n\n");
    socket = dir.resolve("hostprep.sock");
  }

  @AfterEach
  void stopServer() throws InterruptedException {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void theSidecarBindsAListedFunctionThroughTheHelper() throws Exception {
    HelperSysfsWriter writer = serve();
    Path function = tree.sys().resolve("bus/pci/devices").resolve(VF);
    writer.write(function.resolve("driver_override"), "vfio-pci");
    writer.write(function.resolve("driver/unbind"), VF);
    writer.write(tree.sys().resolve("bus/pci/drivers_probe"), VF);
    assertThat(Files.readString(function.resolve("driver_override"))).isEqualTo("vfio-pci\n");
    assertThat(Files.readString(tree.sys().resolve("bus/pci/drivers/igbvf/unbind"))).isEqualTo(VF + "\n");
    assertThat(Files.readString(tree.sys().resolve("bus/pci/drivers_probe"))).isEqualTo(VF + "\n");
    writer.write(function.resolve("driver_override"), "\n");
    assertThat(Files.readString(function.resolve("driver_override"))).isEqualTo("\n");
  }

  @Test
  void aFunctionListedByVendorAndDeviceIdIsAllowedAndOthersAreNot() throws Exception {
    Files.writeString(allow, "8086:10ca  # every igb VF\n");
    HelperSysfsWriter writer = serve();
    writer.write(tree.sys().resolve("bus/pci/devices").resolve(OTHER_VF).resolve("driver_override"), "vfio-pci");
    Path nic = tree.sys().resolve("bus/pci/devices").resolve(NIC).resolve("driver_override");
    assertThatThrownBy(() -> writer.write(nic, "vfio-pci"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("answered: error: " + NIC + " is not in " + allow + "; list it there");
    assertThat(Files.readString(nic)).isEqualTo("(null)\n");
  }

  @Test
  void hostPrepNamesTheHelpersAnswerAndTheFix() throws Exception {
    HelperSysfsWriter writer = serve();
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try {
      SysfsHostPrep prep = new SysfsHostPrep(vertx, tree.sys(), tree.dev(), writer);
      HostDevice nic = prep.inspect(Bdf.parse(NIC)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThatThrownBy(() -> prep.prepare(nic, "vfio-pci").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS))
          .hasMessageContaining("writing 'vfio-pci' to " + tree.sys().resolve("bus/pci/devices").resolve(NIC).resolve("driver_override")
              + " failed: the host-prep helper (" + socket + ") answered: error: " + NIC + " is not in " + allow)
          .hasMessageContaining("/etc/qmp-sidecar/hostprep.allow");
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "bus/pci/devices/../../../etc/passwd/driver_override vfio-pci",
      "bus/pci/devices/0000:03:10.0/../0000:02:00.0/driver_override vfio-pci",
      "bus/pci/devices/0000:03:10.0/remove 1",
      "bus/pci/devices/0000:03:10.0/reset 1",
      "bus/pci/devices/0000:03:10.0/config x",
      "bus/pci/devices/0000:03:10.0/sriov_numvfs 7",
      "bus/pci/rescan 1",
      "bus/pci/drivers/igbvf/bind 0000:03:10.0",
      "bus/pci/devices/0000:03:10.0/driver_override ../../x",
      "bus/pci/devices/0000:03:10.0/driver_override vfio-pci x",
      "bus/pci/devices/0000:03:10.0/driver_override nvme",
      "bus/pci/devices/0000:03:10.0/driver/unbind 0000:02:00.0",
      "bus/pci/devices/0000:02:00.0/driver/unbind 0000:02:00.0",
      "bus/pci/drivers_probe 0000:02:00.0",
      "bus/pci/drivers_probe 0000:03:10.0 0000:02:00.0",
      "bus/pci/drivers_probe 0000:3:10.0",
      "bus/pci/devices/0000:03:10.0/driver_override",
      "release 1 9000 vfio/12",
      "release 1 -5 vfio/12",
      "release x1 0 vfio/12",
      "release 1 0 ../../etc/passwd",
      "release 1 0 /dev/vfio/12",
      "release 1 0 vfio/../12",
      "release 1 0 vfio/devices/x",
      "release 1 0 vfio/1*",
      "release 1 0 vfio/12 vfio/13 vfio/14",
      "release 1 0",
      ""})
  void everyOtherRequestIsRefusedAndNothingIsWritten(String request) throws Exception {
    Helper.Result result = Helper.run(request, tree, allow);
    assertThat(result.exit()).as("%s", result).isEqualTo(1);
    assertThat(result.out()).as("%s", result).startsWith("error: ").doesNotContain("\nok");
    assertThat(result.err()).contains("qmp-sidecar-hostprep: refused: ");
    assertThat(Files.readString(tree.sys().resolve("bus/pci/devices").resolve(VF).resolve("driver_override"))).isEqualTo("(null)\n");
    assertThat(Files.readString(tree.sys().resolve("bus/pci/devices").resolve(NIC).resolve("driver_override"))).isEqualTo("(null)\n");
    assertThat(Files.readString(tree.sys().resolve("bus/pci/drivers_probe"))).isEmpty();
    assertThat(Files.readString(tree.sys().resolve("bus/pci/drivers/e1000e/unbind"))).isEmpty();
  }

  @Test
  void releaseAnswersOnceTheProcessHoldsNoneOfTheNodesOrWhenItsWaitIsOver() throws Exception {
    tree.devNode(12).cdev(VF, 3);
    long self = ProcessHandle.current().pid();
    try (FileChannel group = FileChannel.open(tree.dev().resolve("vfio/12"))) {
      FileChannel cdev = FileChannel.open(tree.dev().resolve("vfio/devices/vfio3"));
      Helper.Result both = Helper.run("release " + self + " 0 vfio/12 vfio/devices/vfio3", tree, allow);
      CompletableFuture<Long> closed = CompletableFuture.supplyAsync(() -> {
        try {
          Thread.sleep(300);
          long closedAt = System.nanoTime();
          cdev.close();
          return closedAt;
        } catch (IOException | InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      Helper.Result cdevLetGo = Helper.run("release " + self + " 5000 vfio/devices/vfio3", tree, allow);
      long answeredAt = System.nanoTime();
      long closedAt = closed.get(5, TimeUnit.SECONDS);
      Helper.Result groupKept = Helper.run("release " + self + " 200 vfio/12 vfio/devices/vfio3", tree, allow);

      assertThat(both.out()).as("%s", both).matches("held \\d+ vfio/12 vfio/devices/vfio3\n");
      assertThat(cdevLetGo.out()).as("%s", cdevLetGo).matches("released \\d+\n");
      assertThat(answeredAt).as("answered after the node was let go").isGreaterThan(closedAt);
      assertThat(waitedMs(cdevLetGo)).isLessThan(4000L);
      assertThat(groupKept.out()).as("%s", groupKept).matches("held \\d+ vfio/12\n");
      assertThat(waitedMs(groupKept)).isGreaterThanOrEqualTo(200);
      assertThat(groupKept.err()).contains("qmp-sidecar-hostprep: pid " + self + " still holds vfio/12");
    }
    Helper.Result gone = Helper.run("release " + ((1L << 22) + 1) + " 0 vfio/12", tree, allow);
    assertThat(gone.out()).as("a process that is gone holds nothing").matches("released \\d+\n");
    assertThat(gone.exit()).isZero();
  }

  /**
   * A /proc mounted with hidepid hides this JVM from a helper without CAP_SYS_PTRACE (run as root
   * with an empty bounding set and not in group root, which hidepid exempts, in a mount namespace
   * of its own): the process is not gone, so it is never "released".
   */
  @Test
  void aProcessHiddenFromTheHelpersProcIsNeverTakenForGone() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "needs root: to mount a procfs with hidepid in a mount namespace, and a JVM the helper may not read");
    long self = ProcessHandle.current().pid();

    Helper.Result hidden = Helper.run(List.of("unshare", "--mount", "sh", "-c", "mount -t proc -o hidepid=invisible"
        + " proc /proc && exec setpriv --regid=65534 --clear-groups --bounding-set=-all --inh-caps=-all /bin/sh \"$0\"",
        HELPER.toString()),
        "release " + self + " 0 vfio/12", tree, allow);

    assertThat(hidden.out()).as("%s", hidden)
        .isEqualTo("error: process " + self + " exists but /proc hides it from this helper; run it with"
            + " CAP_SYS_PTRACE, as qmp-sidecar-hostprep@.service does\n");
    assertThat(hidden.exit()).isEqualTo(1);
  }

  private static long waitedMs(Helper.Result result) {
    return Long.parseLong(result.out().split("[ \n]")[1]);
  }

  @Test
  void withoutAnAllowFileNothingIsAllowed() throws Exception {
    Files.delete(allow);
    Helper.Result result = Helper.run("bus/pci/drivers_probe " + VF, tree, allow);
    assertThat(result.exit()).isEqualTo(1);
    assertThat(result.out()).isEqualTo("error: " + VF + " is not in " + allow + "; list it there (its address, or its"
        + " vendor:device id from lspci -n) to let qmp-sidecar bind it\n");
  }

  @Test
  void anOverlongRequestIsRefused() throws Exception {
    Helper.Result result = Helper.run("bus/pci/drivers_probe " + VF + " ".repeat(200), tree, allow);
    assertThat(result.out()).isEqualTo("error: the request is longer than 160 characters\n");
  }

  @Test
  void aWriteTheKernelRefusesIsReportedWithItsReason() throws Exception {
    Path probe = tree.sys().resolve("bus/pci/drivers_probe");
    Files.delete(probe);
    Files.createDirectory(probe);
    Helper.Result result = Helper.run("bus/pci/drivers_probe " + VF, tree, allow);
    assertThat(result.exit()).isEqualTo(1);
    assertThat(result.out()).startsWith("error: writing '" + VF + "' to " + probe + " failed: ").endsWith("; check dmesg\n");
  }

  @Test
  void aHelperThatIsNotThereIsNamedWithHowToStartIt() {
    HelperSysfsWriter writer = new HelperSysfsWriter(socket, tree.sys(), Duration.ofSeconds(5));
    assertThatThrownBy(() -> writer.write(tree.sys().resolve("bus/pci/drivers_probe"), VF))
        .hasMessageStartingWith("cannot reach the host-prep helper at " + socket)
        .hasMessageEndingWith("; start it: systemctl enable --now qmp-sidecar-hostprep.socket");
  }

  /** A helper that accepts and never answers (a hung one; the real helper's unit stops it after 10 s). */
  @Test
  void aHelperThatDoesNotAnswerTimesOut() throws Exception {
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(socket));
      HelperSysfsWriter writer = new HelperSysfsWriter(socket, tree.sys(), Duration.ofMillis(300));
      assertThatThrownBy(() -> writer.write(tree.sys().resolve("bus/pci/drivers_probe"), VF))
          .hasMessage("the host-prep helper at " + socket + " did not answer within 300 ms (waiting for its answer)");
      try (SocketChannel accepted = server.accept()) {
        assertThat(accepted).isNotNull();
      }
    }
  }

  @Test
  void aPathOutsideTheSysfsRootIsNotSent() {
    HelperSysfsWriter writer = new HelperSysfsWriter(socket, tree.sys(), Duration.ofSeconds(5));
    assertThatThrownBy(() -> writer.write(dir.resolve("elsewhere"), VF))
        .hasMessage(dir.resolve("elsewhere") + " is outside " + tree.sys() + ", which the helper does not write");
  }

  private HelperSysfsWriter serve() throws IOException, InterruptedException {
    server = new HelperServer(socket, Map.of("QMP_SIDECAR_SYSFS", tree.sys().toString(), "QMP_SIDECAR_HOSTPREP_ALLOW",
        allow.toString()), List.of());
    return new HelperSysfsWriter(socket, tree.sys(), Duration.ofSeconds(10));
  }

  /** The helper run by hand, one request on its standard input. */
  private static final class Helper {
    record Result(int exit, String out, String err) {}

    static Result run(String request, SysfsTree tree, Path allow) throws IOException, InterruptedException {
      return run(List.of("/bin/sh", HELPER.toString()), request, tree, allow);
    }

    /** The helper run by {@code command}. */
    static Result run(List<String> command, String request, SysfsTree tree, Path allow)
        throws IOException, InterruptedException {
      ProcessBuilder builder = new ProcessBuilder(command);
      builder.environment().put("QMP_SIDECAR_SYSFS", tree.sys().toString());
      builder.environment().put("QMP_SIDECAR_DEV", tree.dev().toString());
      builder.environment().put("QMP_SIDECAR_HOSTPREP_ALLOW", allow.toString());
      Process process = builder.start();
      process.getOutputStream().write((request + "\n").getBytes(StandardCharsets.US_ASCII));
      process.getOutputStream().close();
      assertThat(process.waitFor(10, TimeUnit.SECONDS)).as("the helper ends").isTrue();
      return new Result(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
          new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }
  }
}
