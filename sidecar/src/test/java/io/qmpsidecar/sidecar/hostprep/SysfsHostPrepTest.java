package io.qmpsidecar.sidecar.hostprep;

import static io.qmpsidecar.qmp.testing.Await.failure;
import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import io.qmpsidecar.sidecar.failure.SidecarException;
import io.qmpsidecar.sidecar.testing.TestVertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Host prep against a generated sysfs tree, with a fake kernel acting on the writes. */
class SysfsHostPrepTest {
  private static final String PF = "0000:03:00.0";
  private static final String VF = "0000:03:00.2";
  private static final String MDEV = "88be506a-0d4c-4f0e-9a51-3c2d2c9c6f10";
  private static final String GPU_MDEV = "0b0e2a43-6a3b-4c36-8c4c-9c1b0e1f2a77";
  @RegisterExtension static final TestVertx VERTX = new TestVertx();

  @TempDir Path root;
  private SysfsTree tree;
  private FakeKernel kernel;
  private SysfsHostPrep prep;

  @BeforeEach
  void setUp() {
    tree = new SysfsTree(root)
        .device(PF, "15b3", "101d", 10, "mlx5_core")
        .device(VF, "15b3", "101e", 12, "mlx5_core")
        .vf(PF, 1, VF);
    kernel = new FakeKernel(tree).defaultDriver(VF, "mlx5_core");
    prep = new SysfsHostPrep(VERTX.get(), tree.sys(), tree.dev(), kernel);
  }

  @Test
  void iommufdIsUnavailableWhenTurnedOffOrWhenTheKernelLacksAPart() throws IOException {
    assertThat(result(prep.iommufdUnavailable())).hasValueSatisfying(why -> assertThat(why)
        .isEqualTo("the kernel has no " + tree.dev().resolve("iommu") + " (CONFIG_IOMMUFD)"));
    Files.writeString(tree.dev().resolve("iommu"), "");
    assertThat(result(prep.iommufdUnavailable())).hasValueSatisfying(why -> assertThat(why)
        .startsWith("the kernel has no VFIO cdevs"));
    tree.cdev(VF, 3);
    Files.createDirectories(tree.sys().resolve("class/vfio-dev"));
    assertThat(result(prep.iommufdUnavailable())).isEmpty();

    SysfsHostPrep off = new SysfsHostPrep(VERTX.get(), tree.sys(), tree.dev(), kernel, Set.of(), false);
    assertThat(result(off.iommufdUnavailable())).contains("host.iommufd is off");
  }

  @Test
  void inspectResolvesTheFactsOfAVf() {
    HostDevice d = result(prep.inspect(Bdf.parse(VF)));

    assertThat(d.physfn()).contains(Bdf.parse(PF));
    assertThat(d.vendorId()).isEqualTo("15b3");
    assertThat(d.deviceId()).isEqualTo("101e");
    assertThat(d.driver()).contains("mlx5_core");
    assertThat(d.iommuGroup()).isEqualTo(12);
    assertThat(d.groupExclusive()).isTrue();
    assertThat(kernel.writes()).isEmpty();
  }

  @Test
  void inspectMdevReadsTypeParentAndGroupAndPrepareChecksTheGroupNodeWithoutWriting() {
    tree.mdev(MDEV, "devices/virtual/mtty/mtty", "mtty-1", 13).mdev(GPU_MDEV, "devices/pci0000:00/" + PF, "nvidia-63", 14)
        .devNode(13);

    HostMdev m = result(prep.inspectMdev(MDEV));
    HostMdev gpu = result(prep.inspectMdev(GPU_MDEV));

    assertThat(m).isEqualTo(new HostMdev(MDEV, "mtty-1", "mtty", 13));
    assertThat(m.sysfsdev()).isEqualTo("/sys/bus/mdev/devices/" + MDEV);
    assertThat(gpu.parent()).isEqualTo(PF);
    assertThat(gpu.type()).isEqualTo("nvidia-63");
    assertThat(result(prep.prepareMdev(m))).isEqualTo(m);
    SidecarException noNode = (SidecarException) failure(prep.prepareMdev(gpu));
    assertThat(noNode.detail("mdev")).isEqualTo(GPU_MDEV);
    assertThat(noNode.detail("group")).isEqualTo(14);
    assertThat((String) noNode.detail("problem")).isEqualTo(tree.dev().resolve("vfio/14") + " does not exist");
    assertThat(kernel.writes()).isEmpty();
  }

  @Test
  void aMissingMdevOrADeviceThatIsNoMdevIsAHostPrerequisiteNamingTheFix() throws Exception {
    SidecarException missing = (SidecarException) failure(prep.inspectMdev(MDEV));
    Files.createDirectories(tree.sys().resolve("bus/mdev/devices").resolve(GPU_MDEV));
    SidecarException notMdev = (SidecarException) failure(prep.inspectMdev(GPU_MDEV));

    assertThat(missing.kind()).isEqualTo(SidecarException.Kind.HOST_PREREQUISITE);
    assertThat(missing.detail("mdev")).isEqualTo(MDEV);
    assertThat((String) missing.detail("problem")).startsWith("no such mdev");
    assertThat(missing.fix()).contains("mdev_supported_types/TYPE/create");
    assertThat((String) notMdev.detail("problem")).startsWith("is not a mediated device (no mdev_type link");
    assertThat(notMdev.fix()).contains("a PCI function is attached by bdf");
  }

  @Test
  void aPfAndVfIndexResolveThroughVirtfn() {
    assertThat(result(prep.resolveVf(Bdf.parse(PF), 1))).isEqualTo(Bdf.parse(VF));

    SidecarException e = (SidecarException) failure(prep.resolveVf(Bdf.parse(PF), 5));
    assertThat(e.detail("bdf")).isEqualTo(PF);
    assertThat((String) e.detail("problem")).contains("no VF 5");
    assertThat(e.fix()).contains("sriov_numvfs");
  }

  @Test
  void bindWritesOverrideThenUnbindThenProbeAndNeverNewId() {
    PreparedHost p = result(prep.prepare(result(prep.inspect(Bdf.parse(VF))), "vfio-pci"));

    assertThat(kernel.writes()).containsExactly(
        "bus/pci/devices/" + VF + "/driver_override=vfio-pci",
        "bus/pci/devices/" + VF + "/driver/unbind=" + VF,
        "bus/pci/drivers_probe=" + VF);
    assertThat(p.rebound()).isTrue();
    assertThat(p.previousDriver()).contains("mlx5_core");
    assertThat(p.boundDriver()).isEqualTo("vfio-pci");
  }

  @Test
  void restoreBindsThePreviousDriverAndClearsTheOverride() throws Exception {
    result(prep.prepare(result(prep.inspect(Bdf.parse(VF))), "vfio-pci"));

    result(prep.restore(Bdf.parse(VF), Optional.of("mlx5_core")));

    assertThat(tree.driver(VF)).isEqualTo("mlx5_core");
    assertThat(kernel.writes()).endsWith(
        "bus/pci/devices/" + VF + "/driver_override=mlx5_core",
        "bus/pci/devices/" + VF + "/driver/unbind=" + VF,
        "bus/pci/drivers_probe=" + VF,
        "bus/pci/devices/" + VF + "/driver_override=");
  }

  @Test
  void aGroupWithAForeignDeviceIsRefusedBeforeAnyWrite() {
    tree.device("0000:03:00.3", "8086", "1521", 12, "igb");

    SidecarException e = (SidecarException) failure(
        prep.inspect(Bdf.parse(VF)).compose(d -> prep.prepare(d, "vfio-pci")));

    assertThat(e.detail("bdf")).isEqualTo(VF);
    assertThat((String) e.detail("problem")).contains("IOMMU group 12").contains("0000:03:00.3 (bound to igb)");
    assertThat(e.fix()).contains("bind those devices to vfio-pci");
    assertThat(kernel.writes()).isEmpty();
  }

  @Test
  void aGroupMemberOnVfioOrNoDriverIsFine() {
    tree.device("0000:03:00.4", "15b3", "101e", 12, "vfio-pci");
    tree.device("0000:03:00.5", "15b3", "101e", 12, null);

    HostDevice d = result(prep.inspect(Bdf.parse(VF)));

    assertThat(d.groupExclusive()).isTrue();
    assertThat(d.group()).hasSize(2);
  }

  @Test
  void aMissingDevNodeIsReportedAndTheOldDriverRestored() throws Exception {
    kernel.vfioCreatesDevNodes(false);

    SidecarException e = (SidecarException) failure(
        prep.inspect(Bdf.parse(VF)).compose(d -> prep.prepare(d, "vfio-pci")));

    assertThat((String) e.detail("problem")).contains("vfio/12 does not exist");
    assertThat(e.detail("group")).isEqualTo(12);
    assertThat(e.fix()).contains("modprobe vfio_pci");
    assertThat(e.rolledBack()).containsExactly("host driver of " + VF + " restored to mlx5_core");
    assertThat(tree.driver(VF)).isEqualTo("mlx5_core");
  }

  @Test
  void aDriverThatDoesNotBindIsReportedAndTheOldOneRestored() throws Exception {
    kernel.refuse("vfio-pci");

    SidecarException e = (SidecarException) failure(
        prep.inspect(Bdf.parse(VF)).compose(d -> prep.prepare(d, "vfio-pci")));

    assertThat((String) e.detail("problem")).contains("did not bind to vfio-pci");
    assertThat(e.fix()).contains("modprobe vfio_pci");
    assertThat(tree.driver(VF)).isEqualTo("mlx5_core");
  }

  @Test
  void withoutADriverToBindTheFunctionMustAlreadyBeOnVfio() {
    SidecarException e = (SidecarException) failure(
        prep.inspect(Bdf.parse(VF)).compose(d -> prep.prepare(d, null)));

    assertThat((String) e.detail("problem")).contains("bound to mlx5_core, not to a VFIO driver");
    assertThat(kernel.writes()).isEmpty();
  }

  @Test
  void anAlreadyBoundFunctionIsNotTouched() throws Exception {
    tree.bind(VF, "vfio-pci");
    tree.devNode(12);

    PreparedHost p = result(prep.inspect(Bdf.parse(VF)).compose(d -> prep.prepare(d, "vfio-pci")));

    assertThat(p.rebound()).isFalse();
    assertThat(kernel.writes()).isEmpty();
  }

  @Test
  void aMissingDeviceAndAMissingIommuGroupHaveTheirOwnErrors() throws Exception {
    SidecarException missing = (SidecarException) failure(prep.inspect(Bdf.parse("0000:09:00.0")));
    assertThat((String) missing.detail("problem")).contains("no such PCI device");
    assertThat(missing.fix()).contains("lspci -D");

    java.nio.file.Files.createDirectories(tree.sys().resolve("bus/pci/devices/0000:05:00.0"));
    java.nio.file.Files.writeString(tree.sys().resolve("bus/pci/devices/0000:05:00.0/vendor"), "0x8086");
    java.nio.file.Files.writeString(tree.sys().resolve("bus/pci/devices/0000:05:00.0/device"), "0x1521");
    SidecarException noGroup = (SidecarException) failure(prep.inspect(Bdf.parse("0000:05:00.0")));
    assertThat((String) noGroup.detail("problem")).contains("no IOMMU group");
    assertThat(noGroup.fix()).contains("intel_iommu=on");
  }

  @Test
  void addressesAreValidated() {
    assertThat(Bdf.parse("03:00.2")).isEqualTo(new Bdf("0000:03:00.2"));
    assertThat(List.of("0000:03:00.8", "03-00.2", "")).allSatisfy(s ->
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Bdf.parse(s))
            .hasMessageContaining("dddd:bb:dd.f"));
  }

  @Test
  void aHostDriverThatIsNotAVfioDriverOfTheConfigurationIsNeverWritten() {
    HostDevice d = result(prep.inspect(Bdf.parse(VF)));

    SidecarException traversal = (SidecarException) failure(prep.prepare(d, "vfio-pci\n../../../../tmp/x"));
    SidecarException kernelDriver = (SidecarException) failure(prep.prepare(d, "mlx5_core"));

    assertThat(traversal.kind()).isEqualTo(SidecarException.Kind.INVALID);
    assertThat(traversal.getMessage()).contains("is not allowed: use one of [vfio-pci]").contains("host.vfioDrivers");
    assertThat(kernelDriver.kind()).isEqualTo(SidecarException.Kind.INVALID);
    assertThat(kernel.writes()).as("nothing a caller sent reached sysfs").isEmpty();
  }

  @Test
  void aConfiguredVariantDriverThatIsNotLoadedIsAHostPrerequisite() {
    SysfsHostPrep withVariant = new SysfsHostPrep(VERTX.get(), tree.sys(), tree.dev(), kernel, Set.of("mlx5_vfio_pci"));
    HostDevice d = result(withVariant.inspect(Bdf.parse(VF)));

    SidecarException e = (SidecarException) failure(withVariant.prepare(d, "mlx5_vfio_pci"));

    assertThat(withVariant.drivers()).containsExactly("mlx5_vfio_pci", "vfio-pci");
    assertThat(e.code()).isEqualTo("host-prerequisite");
    assertThat(e.getMessage()).contains("the driver is not loaded").contains("modprobe mlx5_vfio_pci");
    assertThat(kernel.writes()).isEmpty();
  }
}
