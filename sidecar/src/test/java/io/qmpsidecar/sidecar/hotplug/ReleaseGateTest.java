package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpsidecar.sidecar.events.EventStream;
import io.qmpsidecar.qmp.testing.Await;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.HelperReleaseCheck;
import io.qmpsidecar.sidecar.hostprep.HelperServer;
import io.qmpsidecar.sidecar.hostprep.HelperSysfsWriter;
import io.qmpsidecar.sidecar.hostprep.QemuProcessLookup;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.state.Attachment;
import io.qmpsidecar.sidecar.state.AttachmentState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ReleaseGate} on this machine's real {@code /proc}: the test's own JVM plays QEMU, listening
 * on the "monitor" socket and holding the generated tree's device nodes with {@link FileChannel}s,
 * so the gate reads real {@code /proc/PID/fd} links. {@code ReleaseIT} does the same with a real
 * QEMU holding them.
 */
class ReleaseGateTest {
  private static final String VF = "0000:03:10.0";
  private static final String SIBLING = "0000:03:10.1";

  @TempDir Path dir;
  private Vertx vertx;
  private SysfsTree tree;
  private ServerSocketChannel monitor;
  private final List<Attachment> records = new ArrayList<>();
  private EventStream events;
  private HelperServer helperServer;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    events = new EventStream(vertx, Clock.systemUTC(), 16);
    tree = new SysfsTree(dir.resolve("host"));
    tree.device(VF, "8086", "10ca", 12, "vfio-pci").device(SIBLING, "8086", "10ca", 12, "vfio-pci").devNode(12);
    monitor = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    monitor.bind(UnixDomainSocketAddress.of(dir.resolve("mon.qmp")));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (helperServer != null) {
      helperServer.close();
    }
    monitor.close();
    result(vertx.close());
  }

  private ReleaseGate gate(Optional<Path> socket) {
    return gate(socket, Duration.ofSeconds(5));
  }

  private ReleaseGate gate(Optional<Path> socket, Duration bound) {
    return gate(socket, OptionalLong.empty(), bound);
  }

  /** A gate where the VM's monitor connection has {@code peer} at its other end (SO_PEERCRED). */
  private ReleaseGate gate(Optional<Path> socket, OptionalLong peer, Duration bound) {
    return gate(new QemuProcessLookup(Path.of("/proc")), socket, peer, Optional.empty(), bound);
  }

  private ReleaseGate gate(QemuProcessLookup lookup, Optional<Path> socket, OptionalLong peer,
      Optional<HelperReleaseCheck> helper, Duration bound) {
    return new ReleaseGate(vertx, events, new SysfsHostPrep(vertx, tree.sys(), tree.dev(), new FakeKernel(tree)),
        ReleaseGate.onThisHost(lookup, vm -> socket, vm -> peer, helper), vm -> records, bound);
  }

  /**
   * A gate as under the package's units: this sidecar's {@code /proc} shows no process
   * ({@code ProtectProc=invisible}; here an empty directory), the kernel names QEMU (this JVM) as
   * the monitor's peer, and the real helper, served by socat through {@code launcher}, reads its
   * descriptors.
   */
  private ReleaseGate hiddenQemuGate(List<String> launcher, Duration bound) throws Exception {
    Path socket = dir.resolve("hostprep.sock");
    helperServer = new HelperServer(socket, Map.of("QMP_SIDECAR_DEV", tree.dev().toString()), launcher);
    Path emptyProc = Files.createDirectories(dir.resolve("invisible-proc"));
    return gate(new QemuProcessLookup(emptyProc), Optional.empty(), OptionalLong.of(ProcessHandle.current().pid()),
        new HelperSysfsWriter(socket, tree.sys(), Duration.ofSeconds(10)).releaseCheck(tree.dev()), bound);
  }

  private static Attachment vf(String id, String bdf) {
    return new Attachment("vm1", id, "vfio-pci", bdf, "rp1", JsonNodeFactory.instance.objectNode(), false, null, null,
        List.of(), AttachmentState.ATTACHED, "op", "cli");
  }

  private FileChannel hold(Path node) throws Exception {
    return FileChannel.open(node, StandardOpenOption.READ);
  }

  @Test
  void theGateOpensWhenTheProcessOnTheMonitorSocketClosesTheGroupNode() throws Exception {
    FileChannel held = hold(tree.dev().resolve("vfio/12"));
    Future<ObjectNode> released = gate(Optional.of(dir.resolve("mon.qmp"))).released(vf("vf0", VF), "op");
    Thread.sleep(300);
    assertThat(released.isComplete()).as("still held").isFalse();
    held.close();

    ObjectNode release = result(released);

    assertThat(release.path("verified").asBoolean()).isTrue();
    assertThat(release.path("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
    assertThat(release.path("nodes").toString()).isEqualTo("[\"" + tree.dev().resolve("vfio/12") + "\"]");
  }

  @Test
  void aGroupAnotherAttachedFunctionSharesIsLeftOutAndItsCdevIsWatched() throws Exception {
    tree.cdev(VF, 3);
    records.add(vf("vf1", SIBLING));
    try (FileChannel group = hold(tree.dev().resolve("vfio/12"))) {
      FileChannel cdev = hold(tree.dev().resolve("vfio/devices/vfio3"));
      Future<ObjectNode> released = gate(Optional.of(dir.resolve("mon.qmp"))).released(vf("vf0", VF), "op");
      Thread.sleep(200);
      assertThat(released.isComplete()).as("the cdev is still held").isFalse();
      cdev.close();

      ObjectNode release = result(released);

      assertThat(release.path("verified").asBoolean()).isTrue();
      assertThat(release.path("nodes").toString()).isEqualTo("[\"" + tree.dev().resolve("vfio/devices/vfio3") + "\"]");
    }
  }

  @Test
  void thePeerOfTheMonitorConnectionIsTheProcessWatchedUnlessThisSidecarCannotSeeIt() throws Exception {
    // Above PID_MAX_LIMIT (2^22): no process has it, as none this sidecar could see.
    long hidden = (1L << 22) + 1;
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      Future<ObjectNode> watched = gate(Optional.of(dir.resolve("nothing.qmp")), OptionalLong.of(ProcessHandle.current()
          .pid()), Duration.ofSeconds(5)).released(vf("vf0", VF), "op");
      ObjectNode invisible = result(gate(Optional.of(dir.resolve("mon.qmp")), OptionalLong.of(hidden),
          Duration.ofSeconds(5)).released(vf("vf0", VF), "op"));
      Thread.sleep(200);
      assertThat(watched.isComplete()).as("the peer, found by no socket name, still holds the node").isFalse();
      held.close();

      assertThat(result(watched).path("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
      assertThat(invisible.path("verified").asBoolean()).as("not \"released\" for want of seeing it: %s", invisible)
          .isFalse();
      assertThat(invisible.path("why").asText()).startsWith("QEMU (pid " + hidden + ", the peer of the monitor"
          + " connection) is not visible in this sidecar's /proc");
    }
  }

  @Test
  void whatCannotBeCheckedIsSaidAndNotWaitedFor() throws Exception {
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      ObjectNode tcp = result(gate(Optional.empty()).released(vf("vf0", VF), "op"));
      ObjectNode nobody = result(gate(Optional.of(dir.resolve("nothing.qmp"))).released(vf("vf0", VF), "op"));
      records.add(vf("vf1", SIBLING));
      ObjectNode shared = result(gate(Optional.of(dir.resolve("mon.qmp"))).released(vf("vf0", VF), "op"));
      Attachment emulated = new Attachment("vm1", "nic", "e1000e", null, "rp1", JsonNodeFactory.instance.objectNode(),
          false, null, null, List.of(), AttachmentState.ATTACHED, "op", "cli");

      assertThat(tcp.toString()).isEqualTo("{\"verified\":false,\"why\":\"QEMU's monitor is not a Unix socket,"
          + " so its process is unknown\"}");
      assertThat(nobody.path("why").asText()).startsWith("no process this user may inspect listens on "
          + dir.resolve("nothing.qmp"));
      assertThat(shared.path("why").asText()).isEqualTo("the function's group is still used by another attached function");
      assertThat(result(gate(Optional.of(dir.resolve("mon.qmp"))).released(emulated, "op"))).isNull();
    }
  }

  @Test
  void aNodeHeldPastTheBoundFailsTheRelease() throws Exception {
    ReleaseGate gate = gate(Optional.of(dir.resolve("mon.qmp")), Duration.ofMillis(200));
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      Throwable e = failure(gate.released(vf("vf0", VF), "op"));

      assertThat(e).hasMessageStartingWith("VM vm1: vf0 is gone from QEMU, but QEMU (pid " + ProcessHandle.current().pid()
          + ") still holds [" + tree.dev().resolve("vfio/12") + "] after ");
    }
  }

  @Test
  void aQemuThisSidecarMayNotSeeIsWatchedThroughTheHostPrepHelper() throws Exception {
    tree.cdev(VF, 3);
    ReleaseGate gate = hiddenQemuGate(List.of(), Duration.ofSeconds(10));
    FileChannel group = hold(tree.dev().resolve("vfio/12"));
    FileChannel cdev = hold(tree.dev().resolve("vfio/devices/vfio3"));
    Future<ObjectNode> released = gate.released(vf("vf0", VF), "op");
    Await.until("detach.release-waiting", () -> waiting().isPresent());
    cdev.close();
    Thread.sleep(300);
    assertThat(released.isComplete()).as("QEMU still holds its group").isFalse();
    group.close();

    ObjectNode release = result(released);

    assertThat(release.path("verified").asBoolean()).as("%s", release).isTrue();
    assertThat(release.path("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
    assertThat(release.path("waitedMs").asLong()).isGreaterThanOrEqualTo(1300);
    assertThat(waiting().orElseThrow().data().path("held").toString()).contains(tree.dev().resolve("vfio/12").toString())
        .contains(tree.dev().resolve("vfio/devices/vfio3").toString());
  }

  private Optional<SidecarEvent> waiting() {
    return events.since(0).events().stream().filter(e -> e.type().equals(EventTypes.DETACH_RELEASE_WAITING)).findFirst();
  }

  @Test
  void throughTheHelperANodeHeldPastTheBoundFailsTheRelease() throws Exception {
    ReleaseGate gate = hiddenQemuGate(List.of(), Duration.ofMillis(500));
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      Throwable e = failure(gate.released(vf("vf0", VF), "op"));

      assertThat(e).hasMessageStartingWith("VM vm1: vf0 is gone from QEMU, but QEMU (pid " + ProcessHandle.current().pid()
          + ") still holds [" + tree.dev().resolve("vfio/12") + "] after ");
    }
  }

  @Test
  void aHelperThatCannotBeReachedNeverSaysReleased() throws Exception {
    ReleaseGate gate = gate(new QemuProcessLookup(Files.createDirectories(dir.resolve("invisible-proc"))),
        Optional.empty(), OptionalLong.of(ProcessHandle.current().pid()),
        new HelperSysfsWriter(dir.resolve("nobody.sock"), tree.sys(), Duration.ofSeconds(5)).releaseCheck(tree.dev()),
        Duration.ofSeconds(5));
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      ObjectNode release = result(gate.released(vf("vf0", VF), "op"));

      assertThat(release.path("verified").asBoolean()).as("%s", release).isFalse();
      assertThat(release.path("why").asText()).contains("cannot reach the host-prep helper at " + dir.resolve("nobody.sock"))
          .contains("systemctl enable --now qmp-sidecar-hostprep.socket");
    }
  }

  /** The helper's unit keeps CAP_SYS_PTRACE for this: without it, root may not read a process with more capabilities. */
  @Test
  void aHelperThatMayNotReadQemusDescriptorsNeverSaysReleased() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")),
        "run as root: as another user this JVM has no capability, so a helper of the same user reads it with none");
    ReleaseGate gate = hiddenQemuGate(List.of("setpriv", "--bounding-set=-all"), Duration.ofSeconds(5));
    try (FileChannel held = hold(tree.dev().resolve("vfio/12"))) {
      ObjectNode release = result(gate.released(vf("vf0", VF), "op"));

      assertThat(release.path("verified").asBoolean()).as("%s", release).isFalse();
      assertThat(release.path("why").asText()).contains("answered: error: may not read the descriptors of process "
          + ProcessHandle.current().pid()).contains("CAP_SYS_PTRACE");
    }
  }
}
