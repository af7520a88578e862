package io.qmpsidecar.sidecar.lab;

import static io.qmpsidecar.qmp.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.qmpsidecar.sidecar.hostprep.Bdf;
import io.qmpsidecar.sidecar.hostprep.GroupMember;
import io.qmpsidecar.sidecar.hostprep.HostDevice;
import io.qmpsidecar.sidecar.hostprep.SysfsHostPrep;
import io.qmpsidecar.sidecar.hostprep.SysfsTree;
import io.qmpsidecar.sidecar.hostprep.SysfsWriter;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** lab/start's report, parsed, and the sysfs mirror host prep reads. */
class VfioLabTest {
  private static final List<String> REPORT = List.of(
      "qemu-system-x86_64: warning: nic igb.0 has no peer",
      "LAB dev bdf=0000:00:02.0 vendor=0x1b36 device=0x000c driver=pcieport group=2 physfn=- vfindex=- role=",
      "LAB dev bdf=0000:03:00.0 vendor=0x8086 device=0x10c9 driver=pci-pf-stub group=9 physfn=- vfindex=- role=pf",
      "LAB dev bdf=0000:03:10.2 vendor=0x8086 device=0x10ca driver=vfio-pci group=12 physfn=0000:03:00.0 vfindex=1 cdev=vfio4 role=",
      "LAB dev bdf=0000:03:10.0 vendor=0x8086 device=0x10ca driver=vfio-pci group=11 physfn=0000:03:00.0 vfindex=0 cdev=vfio3 role=",
      "LAB dev bdf=0000:04:00.0 vendor=0x8086 device=0x100e driver=pci-pf-stub group=10 physfn=- vfindex=- role=sibling",
      "LAB dev bdf=0000:04:00.1 vendor=0x1b36 device=0x0005 driver=vfio-pci group=10 physfn=- vfindex=- cdev=vfio2 role=shared",
      "LAB mdev uuid=6a1e8e3c-55c4-4b8e-9d2e-0f1d2c3b4a59 type=mtty-1 parent=mtty group=13 cdev=vfio5",
      "LAB vfio group=10", "LAB vfio group=11", "LAB vfio group=12", "LAB vfio group=13",
      "LAB iommufd dev=/dev/iommu",
      "LAB kernel release=6.12.95",
      "LAB qemu version=7.2", "LAB qemu version=10.0",
      "LAB l2 name=vm port=4444 qemu=7.2",
      "LAB qmp name=vm address=127.0.0.1:40001",
      "LAB qmp name=mig address=127.0.0.1:40002",
      "LAB qmp name=mig-dst address=127.0.0.1:40003",
      "LAB spare name=msrc port=4450 address=127.0.0.1:40004",
      "LAB ctl address=127.0.0.1:40010 token=0123456789abcdef",
      "LAB boot-ms=12643",
      "LAB up pid=13323");

  @TempDir Path dir;
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void stopVertx() {
    result(vertx.close());
  }

  @Test
  void theReportGivesFunctionsVfsInIndexOrderAndLoopbackQmpAddresses() {
    VfioLab lab = VfioLab.parse(REPORT);

    assertThat(lab.functions()).hasSize(6);
    assertThat(lab.function("shared")).isEqualTo(new LabFunction(Bdf.parse("0000:04:00.1"), "1b36", "0005",
        "vfio-pci", 10, null, -1, "vfio2", "shared"));
    assertThat(lab.vfs()).extracting(f -> f.bdf().value(), LabFunction::vfIndex)
        .containsExactly(tuple("0000:03:10.0", 0),
            tuple("0000:03:10.2", 1));
    assertThat(lab.qmp("mig-dst").toString()).isEqualTo("tcp:127.0.0.1:40003");
    assertThat(lab.bootTime().toMillis()).isEqualTo(12643);
    assertThat(lab.hasVfioGroup(11)).isTrue();
    assertThat(lab.hasVfioGroup(9)).isFalse();
    assertThatThrownBy(() -> lab.function("edu")).hasMessageContaining("no function with role edu")
        .hasMessageContaining("pf");
  }

  @Test
  void theReportGivesMdevsIommufdTheKernelAndTheSpareL2Slots() {
    VfioLab lab = VfioLab.parse(REPORT);

    assertThat(lab.mdevs()).containsExactly(new LabMdev("6a1e8e3c-55c4-4b8e-9d2e-0f1d2c3b4a59", "mtty-1", "mtty", 13,
        "vfio5"));
    assertThat(lab.mdev(0).sysfsdev()).isEqualTo("/sys/bus/mdev/devices/6a1e8e3c-55c4-4b8e-9d2e-0f1d2c3b4a59");
    assertThat(lab.mdev(0).cdevPath()).isEqualTo("/dev/vfio/devices/vfio5");
    assertThat(lab.vfs().get(0).cdev()).isEqualTo("vfio3");
    assertThat(lab.hasIommufd()).isTrue();
    assertThat(lab.kernelRelease()).isEqualTo("6.12.95");
    assertThat(lab.qemuVersions()).containsExactlyInAnyOrder("7.2", "10.0");
    assertThat(lab.sparePort("msrc")).isEqualTo(4450);
    assertThat(lab.qmp("msrc").toString()).isEqualTo("tcp:127.0.0.1:40004");
    assertThatThrownBy(() -> lab.mdev(1)).hasMessageContaining("reported 1 mdevs")
        .hasMessageContaining("lab v2 kernel").hasMessageContaining("6.12.95");
    assertThatThrownBy(() -> lab.sparePort("other")).hasMessageContaining("no spare L2 slot other");
  }

  @Test
  void aDebianKernelReportHasNoMdevsNoCdevsAndNoIommufd() {
    List<String> v1 = REPORT.stream().filter(l -> !l.startsWith("LAB mdev") && !l.startsWith("LAB iommufd"))
        .map(l -> l.replaceAll(" cdev=vfio\\d+", " cdev=-")).toList();

    VfioLab lab = VfioLab.parse(v1);

    assertThat(lab.mdevs()).isEmpty();
    assertThat(lab.hasIommufd()).isFalse();
    assertThat(lab.vfs()).extracting(LabFunction::cdev).containsOnlyNulls();
  }

  @Test
  void aReportWithoutTheControlPortIsRejected() {
    List<String> partial = REPORT.stream().filter(l -> !l.startsWith("LAB ctl")).toList();

    assertThatThrownBy(() -> VfioLab.parse(partial)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no control port");
  }

  @Test
  void aReportWithoutAnL2sAddressIsRejectedNamingIt() {
    List<String> partial = REPORT.stream().filter(l -> !l.contains("name=mig-dst")).toList();

    assertThatThrownBy(() -> VfioLab.parse(partial)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no QMP address of L2 mig-dst").hasMessageContaining("console.log");
  }

  @Test
  void hostPrepResolvesVfsAndSeesGroupsThroughTheMirror() {
    SysfsTree mirror = VfioLab.parse(REPORT).mirror(dir);
    SysfsWriter refuse = (file, value) -> {
      throw new AssertionError("no write expected, got " + value + " to " + file);
    };
    SysfsHostPrep prep = new SysfsHostPrep(vertx, mirror.sys(), mirror.dev(), refuse);

    Bdf vf1 = result(prep.resolveVf(Bdf.parse("0000:03:00.0"), 1));
    HostDevice vf = result(prep.inspect(vf1));
    HostDevice shared = result(prep.inspect(Bdf.parse("0000:04:00.1")));

    assertThat(vf1.value()).isEqualTo("0000:03:10.2");
    assertThat(vf.physfn()).contains(Bdf.parse("0000:03:00.0"));
    assertThat(vf.iommuGroup()).isEqualTo(12);
    assertThat(vf.groupExclusive()).isTrue();
    assertThat(result(prep.prepare(vf, null)).boundDriver()).isEqualTo("vfio-pci");
    assertThat(shared.foreignGroupMembers())
        .containsExactly(new GroupMember(Bdf.parse("0000:04:00.0"), Optional.of("pci-pf-stub")));
  }
}
