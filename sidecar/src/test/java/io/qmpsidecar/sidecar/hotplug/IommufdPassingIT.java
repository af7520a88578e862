package io.qmpsidecar.sidecar.hotplug;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.policy.Caller;
import io.qmpsidecar.policy.Policies;
import io.qmpsidecar.qmp.ObjectProperty;
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
import io.qmpsidecar.sidecar.testing.ProcFds;
import io.qmpsidecar.sidecar.testing.SidecarHarness;
import io.qmpsidecar.sidecar.testing.TestVertx;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The attach flow passes a function through IOMMUFD with descriptors the sidecar opens, against
 * real QEMUs. This host's kernel has no IOMMUFD, so the generated tree plays a kernel that has:
 * {@code /dev/iommu} and the function's cdev are plain files there, and {@code /sys/class/vfio-dev}
 * exists. QEMU 10.0 and 11.1 take the descriptors ({@code getfd}), make the VM's iommufd object of
 * the first and refuse the {@code device_add}, since a plain file answers no IOMMUFD ioctl: what the
 * test holds is the sequence, who holds which descriptor after it (QEMU: the iommufd object's, for
 * the VM's life; nobody: the cdev's), and that a second attach reuses the object. QEMU 7.2 has no
 * iommufd backend and takes the group path, saying why. The lab's {@code IommufdLabIT} shows the
 * same QMP on a real kernel, with labtool passing the descriptors inside L1.
 */
class IommufdPassingIT {
  private static final String VM = "vm1";
  private static final String BDF = "0000:03:10.0";

  @RegisterExtension static final SidecarHarness harness = new SidecarHarness();
  @RegisterExtension static final TestVertx NATIVE = TestVertx.nativeTransport();

  /** A VF bound to vfio-pci in group 12 with cdev vfio3, on a kernel with /dev/iommu and VFIO cdevs. */
  private static SysfsTree hostWithIommufd() throws IOException {
    SysfsTree tree = new SysfsTree(harness.dir().resolve("host"));
    tree.device(BDF, "8086", "10ca", 12, "vfio-pci").devNode(12).cdev(BDF, 3);
    Files.writeString(tree.dev().resolve("iommu"), "");
    Files.createDirectories(tree.sys().resolve("class/vfio-dev"));
    return tree;
  }

  /** The operations layer on {@code q}'s monitor, through {@code vertx} (native transport or not). */
  private static OperationsRig sidecar(Vertx vertx, QemuProcess q, SysfsTree tree) {
    return harness.track(new OperationsRig(vertx, Map.of(VM, q.qmpAddress()),
        new SysfsHostPrep(vertx, tree.sys(), tree.dev(), new FakeKernel(tree)), HotplugFixture.fastOptions(),
        harness.dir().resolve(StateStore.FILE_NAME), Policies.preset("default"), 4));
  }

  private static SidecarEvent last(OperationsRig rig, String type) {
    return rig.seen.stream().filter(e -> e.type().equals(type)).reduce((a, b) -> b).orElseThrow();
  }

  @QemuTest
  void theSidecarOpensAndPassesTheNodesAndQemuKeepsOnlyTheIommufdObjects(QemuBinary binary) throws Exception {
    QemuProcess q = harness.qemu(binary, "q", 2);
    SysfsTree tree = hostWithIommufd();
    OperationsRig rig = sidecar(NATIVE.get(), q, tree);
    boolean iommufd = !binary.version().startsWith("7.");

    SidecarException first = (SidecarException) failure(rig.ops().attach(Caller.cli(), new AttachRequest(VM,
        "vfio-pci", FunctionRef.of(Bdf.parse(BDF)), null, "vf0", null, null, null)));
    SidecarEvent prepared = last(rig, EventTypes.ATTACH_HOST_PREPARED);
    SidecarException second = (SidecarException) failure(rig.ops().attach(Caller.cli(), new AttachRequest(VM,
        "vfio-pci", FunctionRef.of(Bdf.parse(BDF)), null, "vf1", null, null, null)));

    assertThat(first.kind()).isEqualTo(SidecarException.Kind.QEMU_ERROR);
    assertThat(second.kind()).isEqualTo(SidecarException.Kind.QEMU_ERROR);
    assertThat(ProcFds.held(ProcessHandle.current().pid(), tree.dev())).as("the sidecar's own copies, closed").isEmpty();
    if (!iommufd) {
      assertThat(prepared.text("vfio")).isEqualTo("group");
      assertThat(prepared.text("vfioReason")).isEqualTo("QEMU " + binary.version().split(" ")[0]
          + " has no iommufd backend for vfio-pci");
      assertThat(ProcFds.held(q.pid(), tree.dev())).isEmpty();
      return;
    }
    assertThat(prepared.text("vfio")).isEqualTo("iommufd");
    assertThat(prepared.text("nodeCheckedFor")).isEqualTo("none: the sidecar passes the cdev (IOMMUFD)");
    assertThat(result(rig.conn(VM).qomList("/objects"))).extracting(ObjectProperty::name).contains("qs-iommufd");
    assertThat(ProcFds.held(q.pid(), tree.dev())).as("one iommufd object for the VM, no cdev")
        .containsExactly(tree.dev().resolve("iommu").toString());
    for (SidecarException refused : List.of(first, second)) {
      assertThat(((Map<?, ?>) refused.detail("qemu")).get("desc").toString()).as("QEMU bound the passed cdev to its"
          + " iommufd object: the ioctl a plain file does not answer")
          .matches("vfio \\S+: error bind device fd=\\d+ to iommufd=\\d+: Inappropriate ioctl for device");
    }
  }

  @QemuTest
  void withoutTheNativeTransportTheGroupPathIsTakenAndSaysWhy(QemuBinary binary) throws Exception {
    QemuProcess q = harness.qemu(binary, "q", 2);
    SysfsTree tree = hostWithIommufd();
    OperationsRig rig = sidecar(harness.vertx(), q, tree);

    failure(rig.ops().attach(Caller.cli(), new AttachRequest(VM, "vfio-pci", FunctionRef.of(Bdf.parse(BDF)), null,
        "vf0", null, null, null)));

    SidecarEvent prepared = last(rig, EventTypes.ATTACH_HOST_PREPARED);
    assertThat(prepared.text("vfio")).isEqualTo("group");
    assertThat(prepared.text("vfioReason")).isEqualTo("the monitor is not a Unix socket on the native transport,"
        + " which passing descriptors needs");
    assertThat(ProcFds.held(q.pid(), tree.dev())).isEmpty();
  }
}
