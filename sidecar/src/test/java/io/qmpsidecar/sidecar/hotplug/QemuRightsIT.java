package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.qmp.testing.QemuBinary;
import io.qmpsidecar.qmp.testing.QemuProcess;
import io.qmpsidecar.qmp.testing.QemuTest;
import io.qmpsidecar.sidecar.events.EventTypes;
import io.qmpsidecar.sidecar.events.SidecarEvent;
import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.FakeKernel;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.state.StateStore;
import io.qmpsidecar.sidecar.testing.OperationsRig;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Host prep checks {@code /dev/vfio/N} with the rights of the QEMU that will open it, not with the
 * sidecar's. The sidecar here runs as root; QEMU drops to user nobody after it started listening
 * ({@code -run-with user=nobody}, {@code -runas nobody} on 7.2), so the socket still names it
 * root and only {@code /proc/PID/status} tells what it runs as now. A node only root may open is
 * refused before QEMU is asked; owned by nobody, it passes host prep and QEMU itself refuses the
 * function (there is no VFIO device on this machine). The sidecar's connection uses the native
 * transport, as the daemon's does, so the kernel names QEMU's process.
 */
class QemuRightsIT {
  private static final String VM = "vm1";
  private static final String BDF = "0000:03:10.0";
  private static final int NOBODY = 65534;

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();
  @RegisterExtension static final TestVertx NATIVE = TestVertx.nativeTransport();

  @QemuTest
  void theGroupNodeIsCheckedWithTheRightsQemuRunsWith(QemuBinary binary) throws Exception {
    String[] runAsNobody = binary.version().startsWith("7.") ? new String[] {"-runas", "nobody"}
        : new String[] {"-run-with", "user=nobody"};
    QemuProcess q = harness.qemu(binary, "q", 1, runAsNobody);
    SysfsTree tree = new SysfsTree(harness.dir().resolve("host"));
    tree.device(BDF, "8086", "10ca", 12, "vfio-pci").devNode(12);
    Path node = tree.dev().resolve("vfio/12");
    Files.setAttribute(node, "unix:mode", 0600);
    OperationsRig rig = harness.track(new OperationsRig(NATIVE.get(), Map.of(VM, q.qmpAddress()),
        new SysfsHostPrep(NATIVE.get(), tree.sys(), tree.dev(), new FakeKernel(tree)), HotplugFixture.fastOptions(),
        harness.dir().resolve(StateStore.FILE_NAME), Policies.preset("default"), 4));
    AttachRequest request = new AttachRequest(VM, "vfio-pci", FunctionRef.of(Bdf.parse(BDF)), null, "vf0", null, null,
        null);

    SidecarException refused = (SidecarException) failure(rig.ops().attach(Caller.cli(), request));
    Files.setAttribute(node, "unix:uid", NOBODY);
    SidecarException byQemu = (SidecarException) failure(rig.ops().attach(Caller.cli(), request));

    assertThat(refused.kind()).isEqualTo(SidecarException.Kind.HOST_PREREQUISITE);
    assertThat(refused.getMessage()).contains(node + " is not readable and writable by QEMU (pid " + q.pid()
        + ", uid " + NOBODY + ", gid " + NOBODY).contains("it is owned by uid 0, gid 0, mode 0600");
    assertThat(byQemu.kind()).isEqualTo(SidecarException.Kind.QEMU_ERROR);
    SidecarEvent prepared = rig.seen.stream().filter(e -> e.type().equals(EventTypes.ATTACH_HOST_PREPARED))
        .findFirst().orElseThrow();
    assertThat(prepared.text("nodeCheckedFor")).isEqualTo("QEMU (pid " + q.pid() + ")");
  }
}
